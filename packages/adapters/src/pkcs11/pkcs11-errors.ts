import { OmtError } from '@omt/core/errors';

/**
 * Cryptoki return values (`CKR_*`, PKCS#11 v2.40 §11.1 / v3.0 §5.1) mapped to stable
 * `adapters.pkcs11.*` codes. The CKR name always appears in the message and in `details.ckr`, so an
 * operator can look it up in the token vendor's documentation; secrets (PINs, key bytes) never do.
 */
export type Pkcs11ErrorCode =
  | 'adapters.pkcs11.options-invalid'
  | 'adapters.pkcs11.binding-missing'
  | 'adapters.pkcs11.module-not-found'
  | 'adapters.pkcs11.slot-not-found'
  | 'adapters.pkcs11.token-unavailable'
  | 'adapters.pkcs11.pin-missing'
  | 'adapters.pkcs11.pin-incorrect'
  | 'adapters.pkcs11.pin-locked'
  | 'adapters.pkcs11.pin-expired'
  | 'adapters.pkcs11.not-logged-in'
  | 'adapters.pkcs11.session-invalid'
  | 'adapters.pkcs11.key-not-found'
  | 'adapters.pkcs11.key-ambiguous'
  | 'adapters.pkcs11.key-disabled'
  | 'adapters.pkcs11.key-unsuitable'
  | 'adapters.pkcs11.mechanism-unsupported'
  | 'adapters.pkcs11.decrypt-failed'
  | 'adapters.pkcs11.data-invalid'
  | 'adapters.pkcs11.attribute-sensitive'
  | 'adapters.pkcs11.attribute-read-only'
  | 'adapters.pkcs11.template-invalid'
  | 'adapters.pkcs11.token-full'
  | 'adapters.pkcs11.closed'
  | 'adapters.pkcs11.failed';

/** CKR values from the standard (pkcs11t.h), so mapping does not depend on the binding's export list. */
const CKR: Readonly<Record<number, string>> = {
  0: 'CKR_OK',
  1: 'CKR_CANCEL',
  2: 'CKR_HOST_MEMORY',
  3: 'CKR_SLOT_ID_INVALID',
  5: 'CKR_GENERAL_ERROR',
  6: 'CKR_FUNCTION_FAILED',
  7: 'CKR_ARGUMENTS_BAD',
  16: 'CKR_ATTRIBUTE_READ_ONLY',
  17: 'CKR_ATTRIBUTE_SENSITIVE',
  18: 'CKR_ATTRIBUTE_TYPE_INVALID',
  19: 'CKR_ATTRIBUTE_VALUE_INVALID',
  27: 'CKR_ACTION_PROHIBITED',
  32: 'CKR_DATA_INVALID',
  33: 'CKR_DATA_LEN_RANGE',
  48: 'CKR_DEVICE_ERROR',
  49: 'CKR_DEVICE_MEMORY',
  50: 'CKR_DEVICE_REMOVED',
  64: 'CKR_ENCRYPTED_DATA_INVALID',
  65: 'CKR_ENCRYPTED_DATA_LEN_RANGE',
  84: 'CKR_FUNCTION_NOT_SUPPORTED',
  96: 'CKR_KEY_HANDLE_INVALID',
  98: 'CKR_KEY_SIZE_RANGE',
  99: 'CKR_KEY_TYPE_INCONSISTENT',
  104: 'CKR_KEY_FUNCTION_NOT_PERMITTED',
  106: 'CKR_KEY_UNEXTRACTABLE',
  112: 'CKR_MECHANISM_INVALID',
  113: 'CKR_MECHANISM_PARAM_INVALID',
  130: 'CKR_OBJECT_HANDLE_INVALID',
  144: 'CKR_OPERATION_ACTIVE',
  145: 'CKR_OPERATION_NOT_INITIALIZED',
  160: 'CKR_PIN_INCORRECT',
  161: 'CKR_PIN_INVALID',
  162: 'CKR_PIN_LEN_RANGE',
  163: 'CKR_PIN_EXPIRED',
  164: 'CKR_PIN_LOCKED',
  176: 'CKR_SESSION_CLOSED',
  177: 'CKR_SESSION_COUNT',
  179: 'CKR_SESSION_HANDLE_INVALID',
  181: 'CKR_SESSION_READ_ONLY',
  183: 'CKR_SESSION_READ_ONLY_EXISTS',
  184: 'CKR_SESSION_READ_WRITE_SO_EXISTS',
  208: 'CKR_TEMPLATE_INCOMPLETE',
  209: 'CKR_TEMPLATE_INCONSISTENT',
  224: 'CKR_TOKEN_NOT_PRESENT',
  225: 'CKR_TOKEN_NOT_RECOGNIZED',
  226: 'CKR_TOKEN_WRITE_PROTECTED',
  256: 'CKR_USER_ALREADY_LOGGED_IN',
  257: 'CKR_USER_NOT_LOGGED_IN',
  258: 'CKR_USER_PIN_NOT_INITIALIZED',
  259: 'CKR_USER_TYPE_INVALID',
  260: 'CKR_USER_ANOTHER_ALREADY_LOGGED_IN',
  336: 'CKR_BUFFER_TOO_SMALL',
  400: 'CKR_CRYPTOKI_NOT_INITIALIZED',
  401: 'CKR_CRYPTOKI_ALREADY_INITIALIZED',
};

const CODE_BY_CKR: Readonly<Record<string, Pkcs11ErrorCode>> = {
  CKR_SLOT_ID_INVALID: 'adapters.pkcs11.slot-not-found',
  CKR_TOKEN_NOT_PRESENT: 'adapters.pkcs11.token-unavailable',
  CKR_TOKEN_NOT_RECOGNIZED: 'adapters.pkcs11.token-unavailable',
  CKR_DEVICE_REMOVED: 'adapters.pkcs11.token-unavailable',
  CKR_DEVICE_ERROR: 'adapters.pkcs11.token-unavailable',
  CKR_TOKEN_WRITE_PROTECTED: 'adapters.pkcs11.token-unavailable',
  CKR_PIN_INCORRECT: 'adapters.pkcs11.pin-incorrect',
  CKR_PIN_INVALID: 'adapters.pkcs11.pin-incorrect',
  CKR_PIN_LEN_RANGE: 'adapters.pkcs11.pin-incorrect',
  CKR_USER_PIN_NOT_INITIALIZED: 'adapters.pkcs11.pin-incorrect',
  CKR_PIN_LOCKED: 'adapters.pkcs11.pin-locked',
  CKR_PIN_EXPIRED: 'adapters.pkcs11.pin-expired',
  CKR_USER_NOT_LOGGED_IN: 'adapters.pkcs11.not-logged-in',
  CKR_SESSION_CLOSED: 'adapters.pkcs11.session-invalid',
  CKR_SESSION_HANDLE_INVALID: 'adapters.pkcs11.session-invalid',
  CKR_SESSION_COUNT: 'adapters.pkcs11.session-invalid',
  CKR_KEY_HANDLE_INVALID: 'adapters.pkcs11.key-not-found',
  CKR_OBJECT_HANDLE_INVALID: 'adapters.pkcs11.key-not-found',
  CKR_KEY_FUNCTION_NOT_PERMITTED: 'adapters.pkcs11.key-disabled',
  CKR_KEY_TYPE_INCONSISTENT: 'adapters.pkcs11.key-unsuitable',
  CKR_KEY_SIZE_RANGE: 'adapters.pkcs11.key-unsuitable',
  CKR_MECHANISM_INVALID: 'adapters.pkcs11.mechanism-unsupported',
  CKR_MECHANISM_PARAM_INVALID: 'adapters.pkcs11.mechanism-unsupported',
  CKR_FUNCTION_NOT_SUPPORTED: 'adapters.pkcs11.mechanism-unsupported',
  CKR_ENCRYPTED_DATA_INVALID: 'adapters.pkcs11.decrypt-failed',
  CKR_ENCRYPTED_DATA_LEN_RANGE: 'adapters.pkcs11.decrypt-failed',
  CKR_DATA_INVALID: 'adapters.pkcs11.data-invalid',
  CKR_DATA_LEN_RANGE: 'adapters.pkcs11.data-invalid',
  CKR_ATTRIBUTE_SENSITIVE: 'adapters.pkcs11.attribute-sensitive',
  CKR_KEY_UNEXTRACTABLE: 'adapters.pkcs11.attribute-sensitive',
  CKR_ATTRIBUTE_READ_ONLY: 'adapters.pkcs11.attribute-read-only',
  CKR_ACTION_PROHIBITED: 'adapters.pkcs11.attribute-read-only',
  CKR_ATTRIBUTE_TYPE_INVALID: 'adapters.pkcs11.template-invalid',
  CKR_ATTRIBUTE_VALUE_INVALID: 'adapters.pkcs11.template-invalid',
  CKR_TEMPLATE_INCOMPLETE: 'adapters.pkcs11.template-invalid',
  CKR_TEMPLATE_INCONSISTENT: 'adapters.pkcs11.template-invalid',
  CKR_DEVICE_MEMORY: 'adapters.pkcs11.token-full',
};

/** The `CKR_*` name of a Cryptoki return value (`CKR_VENDOR_0x…` / `CKR_0x…` when unknown). */
export function ckrName(value: number): string {
  const known = CKR[value];
  if (known !== undefined) return known;
  return value >= 0x80000000 ? `CKR_VENDOR_0x${value.toString(16)}` : `CKR_0x${value.toString(16)}`;
}

/** The CKR value carried by a pkcs11js error (`Pkcs11Error.code`, or the `CKR_X:123` text it wraps). */
export function ckrOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const name = (e as { name?: unknown }).name;
  const code = (e as { code?: unknown }).code;
  if (name === 'Pkcs11Error' && typeof code === 'number') return code;
  const message = (e as { message?: unknown }).message;
  if (typeof message === 'string') {
    const m = /\bCKR_[A-Z_]+:(\d+)/.exec(message);
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  return undefined;
}

/** The `adapters.pkcs11.*` code for a CKR value. */
export function codeForCkr(value: number): Pkcs11ErrorCode {
  return CODE_BY_CKR[ckrName(value)] ?? 'adapters.pkcs11.failed';
}

/**
 * Turns whatever a pkcs11js call threw into an OmtError: `fn` is the Cryptoki function
 * (`C_Login`), `what` a short non-secret description of the operation (`log in to token "hsm1"`).
 * An OmtError passes through unchanged.
 *
 * @example
 * ```ts
 * try { p11.C_Login(h, CKU_USER, pin); } catch (e) { throw toPkcs11Error(e, 'C_Login', 'log in'); }
 * ```
 */
export function toPkcs11Error(e: unknown, fn: string, what: string): OmtError {
  if (e instanceof OmtError) return e;
  const value = ckrOf(e);
  if (value === undefined) {
    const text = e instanceof Error ? e.message : String(e);
    return new OmtError('adapters.pkcs11.failed', `PKCS#11 ${fn} failed (${what}): ${text}`, {
      cause: e,
      details: { fn },
    });
  }
  const name = ckrName(value);
  return new OmtError(codeForCkr(value), `PKCS#11 ${fn} failed (${what}): ${name}`, {
    cause: e,
    details: { fn, ckr: name, ckrValue: value },
  });
}
