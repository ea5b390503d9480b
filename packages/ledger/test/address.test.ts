import { secp256k1 } from '@noble/curves/secp256k1.js';
import { fromHex, toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import {
  addressToScript,
  decodeAddress,
  decodeWif,
  encodeWif,
  hash160,
  p2pkhAddress,
  p2shAddress,
  p2wpkhAddress,
} from '@omt/ledger/address';
import { getNetwork, NETWORKS } from '@omt/ledger/network';
import { p2pkhScript, p2wpkhScript } from '@omt/ledger/script';
import * as bitcoin from 'bitcoinjs-lib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isOmtError(e) ? e.code : `non-OmtError: ${String(e)}`;
  }
  return 'no error';
}

describe('known vectors', () => {
  it('BIP173 P2WPKH example and the matching P2PKH', () => {
    // BIP173: 0279BE66…F81798 → bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4
    const pk = fromHex('0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
    const h = hash160(pk);
    expect(toHex(h)).toBe('751e76e8199196d454941c45d1b3a323f1433bd6');
    expect(p2wpkhAddress(h, 'btc')).toBe('bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4');
    expect(p2wpkhAddress(h, 'btc-testnet')).toBe('tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx');
    expect(p2pkhAddress(h, 'btc')).toBe('1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH');
    expect(p2pkhAddress(h, 'bsv')).toBe('1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH');
    expect(p2pkhAddress(h, 'bsv-regtest')).toBe('mrCDrCybB6J1vRfbwM5hemdJz73FwDBC8r');
    expect(decodeAddress('BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', 'btc').hash).toEqual(h);
  });
  it('WIF of secret key 1 (compressed / uncompressed)', () => {
    const sk = fromHex(`${'00'.repeat(31)}01`);
    expect(encodeWif(sk, 'btc')).toBe('KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn');
    expect(encodeWif(sk, 'btc', false)).toBe('5HpHagT65TZzG1PH3CSu63k8DbpvD8s5ip4nEB3kEsreAnchuDf');
    expect(decodeWif('KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn', 'bsv')).toEqual({
      secretKey: sk,
      compressed: true,
    });
    expect(code(() => decodeWif('KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn', 'btc-testnet'))).toBe(
      'ledger.address.network',
    );
    expect(code(() => decodeWif('KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWm', 'btc'))).toBe(
      'ledger.key.invalid',
    );
  });
});

describe('agreement with bitcoinjs-lib on every BTC network', () => {
  const nets = {
    btc: bitcoin.networks.bitcoin,
    'btc-testnet': bitcoin.networks.testnet,
    'btc-regtest': bitcoin.networks.regtest,
  } as const;
  it('P2PKH, P2SH, P2WPKH encode/decode and output scripts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.constantFrom(...(Object.keys(nets) as (keyof typeof nets)[])),
        (h, name) => {
          const net = nets[name];
          const p2pkh = bitcoin.payments.p2pkh({ hash: h, network: net }).address;
          const p2sh = bitcoin.payments.p2sh({ hash: h, network: net }).address;
          const p2wpkh = bitcoin.payments.p2wpkh({ hash: h, network: net }).address;
          expect(p2pkhAddress(h, name)).toBe(p2pkh);
          expect(p2shAddress(h, name)).toBe(p2sh);
          expect(p2wpkhAddress(h, name)).toBe(p2wpkh);
          expect(toHex(addressToScript(p2pkh as string, name))).toBe(toHex(p2pkhScript(h)));
          expect(toHex(addressToScript(p2wpkh as string, name))).toBe(toHex(p2wpkhScript(h)));
          expect(toHex(addressToScript(p2wpkh as string, name))).toBe(
            toHex(bitcoin.address.toOutputScript(p2wpkh as string, net)),
          );
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('rejections', () => {
  const h = hash160(secp256k1.getPublicKey(fromHex('11'.repeat(32)), true));
  it('wrong network, checksum, unsupported forms', () => {
    expect(code(() => decodeAddress(p2pkhAddress(h, 'btc-testnet'), 'btc'))).toBe('ledger.address.network');
    expect(code(() => decodeAddress(p2wpkhAddress(h, 'btc-regtest'), 'btc'))).toBe('ledger.address.network');
    expect(code(() => decodeAddress(p2wpkhAddress(h, 'btc'), 'bsv'))).toBe('ledger.address.network');
    expect(code(() => p2wpkhAddress(h, 'bsv'))).toBe('ledger.address.unsupported');
    const good = p2pkhAddress(h, 'bsv');
    const bad = `${good.slice(0, -1)}${good.endsWith('1') ? '2' : '1'}`;
    expect(code(() => decodeAddress(bad, 'bsv'))).toBe('ledger.address.invalid');
    expect(code(() => decodeAddress('', 'bsv'))).toBe('ledger.address.invalid');
    // taproot (v1) address: valid bech32m, not supported here
    expect(
      code(() => decodeAddress('bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0', 'btc')),
    ).not.toBe('no error');
    expect(code(() => getNetwork('dogecoin' as 'btc'))).toBe('ledger.network.unknown');
    expect(Object.keys(NETWORKS).sort()).toEqual([
      'bsv',
      'bsv-regtest',
      'bsv-testnet',
      'btc',
      'btc-regtest',
      'btc-signet',
      'btc-testnet',
    ]);
  });
  it('random strings never crash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), (s) => {
        const c = code(() => decodeAddress(s, 'btc'));
        expect(c.startsWith('ledger.address.')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
