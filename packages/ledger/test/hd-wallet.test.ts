import { fromHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import { encodeWif } from '@omt/ledger/address';
import { HdWallet, type KeyIndexStore, MemoryKeyIndexStore } from '@omt/ledger/hd-wallet';
import { describe, expect, it } from 'vitest';

// BIP39 "abandon ×11 about", empty passphrase (BIP84 / BIP44 test vectors).
const seed = fromHex(
  '5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc19a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4',
);

describe('derivation paths match published vectors', () => {
  it("BIP84 m/84'/0'/0'/0/0 and /1/0 (BTC P2WPKH)", async () => {
    const w = HdWallet.fromSeed(seed, { network: 'btc', store: new MemoryKeyIndexStore() });
    const k = await w.nextFundingKey();
    expect(k.path).toBe("m/84'/0'/0'/0/0");
    expect(k.address).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    expect(encodeWif(k.secretKey, 'btc')).toBe('KyZpNDKnfs94vbrwhJneDi77V6jF64PWPF8x5cdJb8ifgg2DUc9d');
    const c = await w.nextChangeKey();
    expect(c.path).toBe("m/84'/0'/0'/1/0");
    expect(c.address).toBe('bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el');
  });
  it("BIP44 m/44'/0'/0'/0/0 (P2PKH) and BSV coin type 236", async () => {
    const btc = HdWallet.fromSeed(seed, {
      network: 'btc',
      addressType: 'p2pkh',
      store: new MemoryKeyIndexStore(),
    });
    expect((await btc.nextFundingKey()).address).toBe('1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA');
    const bsv = HdWallet.fromSeed(seed, { network: 'bsv', store: new MemoryKeyIndexStore() });
    const k = await bsv.nextFundingKey();
    expect(k.path).toBe("m/44'/236'/0'/0/0");
    expect(k.address.startsWith('1')).toBe(true);
    expect(k.address).not.toBe('1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA');
    const reg = HdWallet.fromSeed(seed, { network: 'bsv-regtest', store: new MemoryKeyIndexStore() });
    expect((await reg.nextFundingKey()).path).toBe("m/44'/1'/0'/0/0");
  });
});

describe('never reuses a key', () => {
  it('sequential and concurrent allocations are all distinct, per chain', async () => {
    const store = new MemoryKeyIndexStore();
    const w = HdWallet.fromSeed(seed, { network: 'bsv', store });
    const keys = await Promise.all([
      ...Array.from({ length: 40 }, () => w.nextFundingKey()),
      ...Array.from({ length: 40 }, () => w.nextChangeKey()),
    ]);
    const addresses = new Set(keys.map((k) => k.address));
    expect(addresses.size).toBe(80);
    expect(
      keys
        .filter((k) => k.chain === 'funding')
        .map((k) => k.index)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await store.peek(w.id, 'change')).toBe(40);
  });
  it('state persists: a wallet restored over the saved store continues, never repeating', async () => {
    const store = new MemoryKeyIndexStore();
    const w1 = HdWallet.fromSeed(seed, { network: 'btc-regtest', store });
    const first = await w1.nextFundingKey();
    const saved = store.toJSON();
    const w2 = HdWallet.fromSeed(seed, { network: 'btc-regtest', store: new MemoryKeyIndexStore(saved) });
    expect(w2.id).toBe(w1.id);
    const next = await w2.nextFundingKey();
    expect(next.index).toBe(first.index + 1);
    expect(next.address).not.toBe(first.address);
    expect(next.address.startsWith('bcrt1q')).toBe(true);
  });
  it('deriveKey re-derives a handed-out key; account xprv round-trips', async () => {
    const w = HdWallet.fromSeed(seed, { network: 'bsv', store: new MemoryKeyIndexStore() });
    const k = await w.nextChangeKey();
    expect(w.deriveKey('change', k.index)).toEqual(k);
    expect(w.keyForPath(k.path)).toEqual(k);
    for (const bad of [
      "m/44'/0'/0'/1/0",
      `${w.accountPath}/2/0`,
      `${w.accountPath}/0/01`,
      `${w.accountPath}/0/2147483648`,
      `${w.accountPath}/0`,
    ]) {
      expect(() => w.keyForPath(bad)).toThrow(expect.objectContaining({ code: 'ledger.wallet.path' }));
    }
    const w2 = HdWallet.fromAccountKey(w.accountExtendedPrivateKey(), w.accountPath, {
      network: 'bsv',
      store: new MemoryKeyIndexStore(),
    });
    expect(w2.deriveKey('change', 0).address).toBe(k.address);
    expect(w2.accountExtendedPublicKey).toBe(w.accountExtendedPublicKey);
  });
  it('a store that returns a bad index, bad seeds, exhausted chains, segwit on BSV', async () => {
    const bad: KeyIndexStore = { allocate: async () => -1, peek: async () => 0 };
    const w = HdWallet.fromSeed(seed, { network: 'bsv', store: bad });
    await expect(w.nextFundingKey()).rejects.toMatchObject({ code: 'ledger.wallet.store' });
    const full = new MemoryKeyIndexStore({ [`${w.id}/funding`]: 0x80000000 });
    const w3 = HdWallet.fromSeed(seed, { network: 'bsv', store: full });
    await expect(w3.nextFundingKey()).rejects.toMatchObject({ code: 'ledger.wallet.exhausted' });
    for (const [fn, code] of [
      [
        () => HdWallet.fromSeed(new Uint8Array(8), { network: 'bsv', store: new MemoryKeyIndexStore() }),
        'ledger.wallet.seed',
      ],
      [
        () =>
          HdWallet.fromSeed(seed, {
            network: 'bsv',
            addressType: 'p2wpkh',
            store: new MemoryKeyIndexStore(),
          }),
        'ledger.address.unsupported',
      ],
      [() => HdWallet.fromSeed(seed, { network: 'bsv', store: {} as KeyIndexStore }), 'core.input.invalid'],
      [
        () =>
          HdWallet.fromAccountKey('xprv-nope', "m/44'/236'/0'", {
            network: 'bsv',
            store: new MemoryKeyIndexStore(),
          }),
        'ledger.key.invalid',
      ],
      [() => w.deriveKey('change', -1), 'core.input.invalid'],
    ] as [() => unknown, string][]) {
      try {
        fn();
        throw new Error(`no error for ${code}`);
      } catch (e) {
        expect(isOmtError(e, code), String(e)).toBe(true);
      }
    }
  });
});
