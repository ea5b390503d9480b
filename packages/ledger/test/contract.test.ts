import { MemoryNonceStore } from '@omt/ledger/intent-nonce-store-memory';
import { MemoryKeyRegistry } from '@omt/ledger/key-registry-memory';
import { keyRegistryContract, nonceStoreContract, utxoStoreContract } from '@omt/ledger/testing';
import { MemoryUtxoStore } from '@omt/ledger/utxo-store-memory';

nonceStoreContract('MemoryNonceStore', async () => ({ store: new MemoryNonceStore() }));
keyRegistryContract('MemoryKeyRegistry', async () => ({ store: new MemoryKeyRegistry() }));
utxoStoreContract('MemoryUtxoStore', async () => ({ open: () => new MemoryUtxoStore() }));
