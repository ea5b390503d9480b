import { webCryptoAead } from '@omt/kms/aead-web';
import { MemoryKeyStore } from '@omt/kms/memory-key-store';
import { MemoryRootKeyProvider } from '@omt/kms/memory-root-key-provider';
import { aeadEngineContract, keyStoreContract, rootKeyProviderContract } from '@omt/kms/testing';

rootKeyProviderContract('MemoryRootKeyProvider', async () => ({ port: new MemoryRootKeyProvider() }));
keyStoreContract('MemoryKeyStore', async () => ({ port: new MemoryKeyStore() }));
aeadEngineContract('webCryptoAead', webCryptoAead);
