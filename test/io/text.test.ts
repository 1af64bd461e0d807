import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatFloat, parseFloatToken } from '../../src/io/index.js';
import { splitLines, streamLines } from '../../src/io/text.js';
import { rng } from './helpers.js';

describe('number tokens', () => {
  it('accepts what Python float() accepts and rejects the rest', () => {
    const ok: [string, number][] = [
      ['1', 1], ['-1.5e3', -1500], ['.5', 0.5], ['5.', 5], ['+.5E-2', 0.005], ['00012', 12], ['-0', -0],
      ['inf', Infinity], ['-Infinity', -Infinity], ['INF', Infinity],
    ];
    for (const [t, x] of ok) expect(Object.is(parseFloatToken(t), x)).toBe(true);
    expect(parseFloatToken('nan')).toBeNaN();
    expect(parseFloatToken('NaN')).toBeNaN();
    for (const t of ['', ' ', '0x10', '0B1', '0o7', '1e', '1.0.0', 'e5', '1d5', 'abc', '--1', '1,5']) {
      expect(parseFloatToken(t)).toBeUndefined();
    }
  });

  it('formatFloat is the shortest text that parses back to the same double', () => {
    const r = rng(11);
    for (let k = 0; k < 20000; k++) {
      const bits = new Float64Array(new Uint32Array([Math.floor(r() * 2 ** 32), Math.floor(r() * 2 ** 32)]).buffer)[0];
      const x = Number.isFinite(bits) ? bits : (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
      expect(Object.is(parseFloatToken(formatFloat(x)), x)).toBe(true);
    }
    expect(formatFloat(-0)).toBe('-0.0');
    expect(formatFloat(NaN)).toBe('nan');
    expect(formatFloat(-Infinity)).toBe('-inf');
    expect(formatFloat(0.1)).toBe('0.1');
  });
});

describe('line splitting', () => {
  it('splitLines handles LF, CRLF and a missing final line end', () => {
    expect(splitLines('a\r\nb\nc')).toEqual(['a', 'b', 'c']);
    expect(splitLines('a\n\n')).toEqual(['a', '']);
    expect(splitLines('')).toEqual([]);
  });

  it('streamLines gives the same lines for any chunking, including split UTF-8 and CRLF', async () => {
    const text = 'héllo Å\r\n\r\nline 3\nlast without newline ✓';
    const bytes = Buffer.from(text);
    for (const size of [1, 2, 3, 5, 64]) {
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, k) => bytes.subarray(size * k, size * k + size));
      const lines: string[] = [];
      for await (const l of streamLines(Readable.from(chunks))) lines.push(l);
      expect(lines).toEqual(['héllo Å', '', 'line 3', 'last without newline ✓']);
    }
  });
});
