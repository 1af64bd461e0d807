/**
 * The key=value comment line of extended XYZ, parsed and written the way ASE does
 * (`ase.io.extxyz.key_val_str_to_dict` / `key_val_dict_to_str`).
 *
 * @module
 */
import type { InfoValue } from '../structure/structure.js';
import { formatFloat, isIntToken, parseFloatToken } from './text.js';

/** One raw `key=value` pair of a comment line; `value` is `undefined` for a bare key (meaning true). */
export interface RawPair {
  readonly key: string;
  readonly value: string | undefined;
}

const CLOSING: Readonly<Record<string, string>> = { '"': '"', "'": "'", '{': '}', '[': ']' };

/**
 * Split a comment line into raw key/value pairs. Values may be quoted with "", '',
 * {} or []; a backslash takes the next character literally; a key without '=' is a
 * flag. Returns an error message instead of pairs when a quote is left open.
 */
export function splitKeyValues(line: string): RawPair[] | string {
  const pairs: RawPair[] = [];
  let key = '';
  let value: string | undefined;
  let inValue = false;
  let closing: string | undefined;
  let escaped = false;
  let started = false; // current pair has any content (key, '=' or quoted text)

  const flush = (): void => {
    if (started) pairs.push({ key, value: inValue ? (value ?? '') : undefined });
    key = '';
    value = undefined;
    inValue = false;
    started = false;
  };
  const add = (ch: string): void => {
    started = true;
    if (inValue) value = (value ?? '') + ch;
    else key += ch;
  };

  for (const ch of line.trim()) {
    if (escaped) {
      add(ch);
      escaped = false;
    } else if (ch === '\\') {
      escaped = true;
    } else if (closing !== undefined) {
      if (ch === closing) closing = undefined;
      else add(ch);
    } else if (ch in CLOSING) {
      closing = CLOSING[ch];
      started = true;
      if (inValue && value === undefined) value = '';
    } else if (ch === ' ' || ch === '\t') {
      flush();
    } else if (ch === '=') {
      if (!inValue) {
        inValue = true;
        started = true;
      } else {
        // A second '=' belongs to the value (ASE joins the pieces with '=').
        value = (value ?? '') + '=';
      }
    } else {
      add(ch);
    }
  }
  if (closing !== undefined) return `unterminated quote: missing closing ${closing}`;
  flush();
  return pairs;
}

/**
 * Convert a raw value to its typed form like ASE: integers, then floats (single
 * values become scalars, several become arrays), then T/F booleans, then `_JSON ...`
 * content, else the string itself.
 */
export function convertValue(value: string | undefined): InfoValue {
  if (value === undefined) return true;
  const parts = value.match(/[^\s,]+/g) ?? [];
  if (parts.length === 0) return value;
  if (parts.every(isIntToken)) {
    const nums = parts.map(Number);
    return nums.length === 1 ? nums[0] : nums;
  }
  const floats = parts.map(parseFloatToken);
  if (floats.every((f) => f !== undefined)) {
    return floats.length === 1 ? (floats[0] as number) : (floats as number[]);
  }
  if (parts.every((p) => p === 'T' || p === 'F')) {
    const bools = parts.map((p) => p === 'T');
    return bools.length === 1 ? bools[0] : bools;
  }
  if (value.startsWith('_JSON ')) {
    try {
      return JSON.parse(value.slice(6)) as InfoValue;
    } catch {
      return value;
    }
  }
  return value;
}

const NEEDS_QUOTES = /[\s"'{}[\]=\\]/;

/** Quote and escape a key or string value when it would not survive splitting otherwise. */
export function quoteIfNeeded(text: string): string {
  if (text !== '' && !NEEDS_QUOTES.test(text)) return text;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Text of one info value on the comment line (without the key): numbers in shortest
 * round-trip form, booleans as T/F, number or boolean arrays of two or more entries
 * space-separated, strings quoted when needed, and anything else as `_JSON` like ASE.
 * Values that would read back as something else (a string that looks like a number
 * or T/F, a one-element array, a string with line breaks) are written as `_JSON`,
 * so every value reads back unchanged, in ASE too.
 */
export function formatValue(v: InfoValue): string {
  if (typeof v === 'number') return formatFloat(v);
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (typeof v === 'string' && !/[\r\n]/.test(v) && convertValue(v) === v) return quoteIfNeeded(v);
  if (Array.isArray(v) && v.length > 1) {
    const items = v as readonly InfoValue[];
    if (items.every((x) => typeof x === 'number')) return quoteIfNeeded((items as number[]).map(formatFloat).join(' '));
    if (items.every((x) => typeof x === 'boolean')) return quoteIfNeeded(items.map((b) => (b ? 'T' : 'F')).join(' '));
  }
  return quoteIfNeeded(`_JSON ${JSON.stringify(v)}`);
}
