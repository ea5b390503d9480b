/**
 * `@omt/adapters/pkcs11`: L1 root keys in a PKCS#11 HSM (tested against SoftHSM2), through the
 * pkcs11js binding (an optional peer dependency, loaded only when a token is opened).
 */
export {
  ckrName,
  codeForCkr,
  type Pkcs11ErrorCode,
  toPkcs11Error,
} from './pkcs11-errors.js';
export {
  openPkcs11RootKeyProvider,
  PKCS11_METADATA_APPLICATION,
  Pkcs11RootKeyProvider,
  type Pkcs11RootKeyProviderOptions,
} from './pkcs11-root-key-provider.js';
export {
  openPkcs11Token,
  type Pkcs11Binding,
  type Pkcs11Handle,
  type Pkcs11Mechanism,
  Pkcs11Session,
  type Pkcs11Template,
  Pkcs11Token,
  type Pkcs11TokenInfo,
  type Pkcs11TokenOptions,
} from './pkcs11-session.js';
