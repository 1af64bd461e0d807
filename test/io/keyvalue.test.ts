import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatExtxyz, parseExtxyz } from '../../src/io/index.js';
import { convertValue, formatValue, quoteIfNeeded, splitKeyValues } from '../../src/io/keyvalue.js';
import { Structure, type InfoValue } from '../../src/structure/index.js';

const RESERVED = new Set(['Lattice', 'Properties', 'pbc', 'charge', 'spin']);

/** Info values as JSON can carry them (finite numbers), including awkward strings. */
const awkwardString = fc.oneof(
  fc.string(),
  fc.string({ unit: fc.constantFrom('"', "'", '\\', '{', '}', '[', ']', '=', ' ', '\t', ',', 'T', 'F', '1', '.', 'e', '-', 'Å', '\n', '_JSON ') }),
  fc.constantFrom('1', '2.5', 'T', 'F', 'T F', '1 2', 'nan', 'inf', '_JSON 3', ''),
);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true });
const infoValue: fc.Arbitrary<InfoValue> = fc.oneof(
  awkwardString,
  finite,
  fc.integer(),
  fc.boolean(),
  fc.array(finite),
  fc.array(fc.boolean()),
  fc.array(awkwardString, { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.string()), { maxKeys: 3 }),
);
const infoKey = fc.oneof(
  fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,10}$/),
  fc.string({ minLength: 1 }).filter((k) => !/[\r\n]/.test(k)),
);

describe('comment line key=value codec', () => {
  it('every info value and key survives write → read unchanged (property-based)', () => {
    fc.assert(
      fc.property(fc.dictionary(infoKey, infoValue, { maxKeys: 6 }), (info) => {
        for (const k of Object.keys(info)) if (RESERVED.has(k)) delete info[k];
        const s = Structure.fromArrays({ symbols: ['H'], positions: [0, 0, 0], info });
        const [back] = parseExtxyz(formatExtxyz(s));
        // -0 inside JSON would come back as 0, compare with JSON semantics for nested values
        expect(JSON.stringify(back.info)).toBe(JSON.stringify(s.info));
        for (const [k, v] of Object.entries(s.info)) {
          if (typeof v === 'number') expect(Object.is(back.info[k], v)).toBe(true);
        }
      }),
      { numRuns: 300, seed: 4242 },
    );
  });

  it('quoting protects exactly the characters the splitter treats specially', () => {
    expect(quoteIfNeeded('plain')).toBe('plain');
    expect(quoteIfNeeded('two words')).toBe('"two words"');
    expect(quoteIfNeeded('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteIfNeeded('back\\slash')).toBe('"back\\\\slash"');
    expect(quoteIfNeeded('')).toBe('""');
    expect(splitKeyValues('a="x y" b c=\'q\' d')).toEqual([
      { key: 'a', value: 'x y' },
      { key: 'b', value: undefined },
      { key: 'c', value: 'q' },
      { key: 'd', value: undefined },
    ]);
    expect(splitKeyValues('a="open')).toMatch(/unterminated quote/);
  });

  it('values that would change type on reading are written as _JSON', () => {
    expect(formatValue('1')).toBe('"_JSON \\"1\\""');
    expect(formatValue('T')).toBe('"_JSON \\"T\\""');
    expect(formatValue([5])).toBe('"_JSON [5]"');
    expect(formatValue([1, 2.5])).toBe('"1 2.5"');
    expect(formatValue('bulk')).toBe('bulk');
    expect(convertValue(undefined)).toBe(true);
    expect(convertValue('1,2,3')).toEqual([1, 2, 3]);
  });
});
