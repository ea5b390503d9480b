import { fromHex, toHex } from '@omt/core/bytes';
import { isOmtError } from '@omt/core/errors';
import {
  classifyScript,
  compileScript,
  decodeScript,
  encodePush,
  OP,
  opReturnScript,
  p2pkhScript,
  p2shScript,
  p2wpkhScript,
  scriptFromAsm,
  scriptToAsm,
} from '@omt/ledger/script';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const h = fromHex('89abcdefabbaabbaabbaabbaabbaabbaabbaabba');

describe('minimal pushes (BIP62 rule 3)', () => {
  it('uses OP_0, OP_1..16, OP_1NEGATE, direct, PUSHDATA1/2/4 at the boundaries', () => {
    expect(toHex(encodePush(new Uint8Array(0)))).toBe('00');
    expect(toHex(encodePush(Uint8Array.of(5)))).toBe('55');
    expect(toHex(encodePush(Uint8Array.of(16)))).toBe('60');
    expect(toHex(encodePush(Uint8Array.of(0x81)))).toBe('4f');
    expect(toHex(encodePush(Uint8Array.of(0)))).toBe('0100');
    expect(toHex(encodePush(Uint8Array.of(17)))).toBe('0111');
    expect(toHex(encodePush(new Uint8Array(75))).slice(0, 2)).toBe('4b');
    expect(toHex(encodePush(new Uint8Array(76))).slice(0, 4)).toBe('4c4c');
    expect(toHex(encodePush(new Uint8Array(255))).slice(0, 4)).toBe('4cff');
    expect(toHex(encodePush(new Uint8Array(256))).slice(0, 6)).toBe('4d0001');
    expect(toHex(encodePush(new Uint8Array(65536))).slice(0, 10)).toBe('4e00000100');
  });
});

describe('templates', () => {
  it('P2PKH / P2WPKH / P2SH bytes and ASM', () => {
    expect(toHex(p2pkhScript(h))).toBe(`76a914${toHex(h)}88ac`);
    expect(toHex(p2wpkhScript(h))).toBe(`0014${toHex(h)}`);
    expect(toHex(p2shScript(h))).toBe(`a914${toHex(h)}87`);
    expect(scriptToAsm(p2pkhScript(h))).toBe(`OP_DUP OP_HASH160 ${toHex(h)} OP_EQUALVERIFY OP_CHECKSIG`);
    expect(toHex(scriptFromAsm(scriptToAsm(p2pkhScript(h))))).toBe(toHex(p2pkhScript(h)));
    expect(classifyScript(p2pkhScript(h))).toEqual({ type: 'p2pkh', hash: h });
    expect(classifyScript(p2wpkhScript(h))).toEqual({ type: 'p2wpkh', hash: h });
    expect(classifyScript(p2shScript(h))).toEqual({ type: 'p2sh', hash: h });
    expect(classifyScript(Uint8Array.of(OP.OP_1 as number))).toEqual({ type: 'unknown' });
    expect(() => p2pkhScript(new Uint8Array(19))).toThrow(
      expect.objectContaining({ code: 'ledger.script.invalid' }),
    );
  });
  it('OP_RETURN: OP_FALSE OP_RETURN on BSV, bare OP_RETURN on BTC; data pushes never use OP_1..16', () => {
    const data = [Uint8Array.of(1), new Uint8Array(100).fill(9)];
    const bsv = opReturnScript('bsv', data);
    const btc = opReturnScript('btc', data);
    expect(toHex(bsv)).toBe(`006a0101${'4c64'}${'09'.repeat(100)}`);
    expect(toHex(btc)).toBe(`6a0101${'4c64'}${'09'.repeat(100)}`);
    expect(classifyScript(bsv)).toEqual({ type: 'op-return', style: 'bsv', data });
    expect(classifyScript(btc)).toEqual({ type: 'op-return', style: 'btc', data });
    expect(scriptToAsm(bsv).startsWith('OP_0 OP_RETURN 01 ')).toBe(true);
  });
});

describe('parsing', () => {
  it('truncated pushes are ledger.script.malformed', () => {
    for (const hex of ['01', '4c', '4c05aa', '4d01', '4d0100', '4e010000', '4e0100000000'.slice(0, 10)]) {
      try {
        decodeScript(fromHex(hex));
        throw new Error(`accepted ${hex}`);
      } catch (e) {
        expect(isOmtError(e, 'ledger.script.malformed'), hex).toBe(true);
      }
    }
    expect(() => scriptFromAsm('OP_NOPE')).toThrow(
      expect.objectContaining({ code: 'ledger.script.malformed' }),
    );
  });
  it('decode → compile is the identity on any well-formed script; asm round-trips minimal scripts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        let chunks: ReturnType<typeof decodeScript>;
        try {
          chunks = decodeScript(bytes);
        } catch (e) {
          expect(isOmtError(e, 'ledger.script.malformed')).toBe(true);
          return;
        }
        expect(toHex(compileScript(chunks))).toBe(toHex(bytes));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 2, maxLength: 300 }), { maxLength: 5 }), (pushes) => {
        const script = compileScript(pushes.map((d) => ({ op: -1, data: d })));
        expect(toHex(scriptFromAsm(scriptToAsm(script)))).toBe(toHex(script));
        expect(decodeScript(script).map((c) => toHex(c.data ?? new Uint8Array()))).toEqual(pushes.map(toHex));
      }),
      { numRuns: 300 },
    );
  });
});
