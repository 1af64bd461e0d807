/**
 * Number parsing and formatting shared by the structure-file readers and writers.
 *
 * Parsing follows Python's `float()`/`int()` (what ASE uses), so a file parses to the
 * same doubles here as in ASE. Formatting writes the shortest decimal string that
 * parses back to the same double, so write → read round-trips bit for bit.
 *
 * @module
 */

// Decimal floats as Python's float() accepts them (no Fortran 'D' exponents, no hex),
// plus inf/infinity/nan in any case.
const FLOAT_RE = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;
const INT_RE = /^[+-]?\d+$/;

/** Parse a float token like Python's `float()`; `undefined` when it is not a number. */
export function parseFloatToken(token: string): number | undefined {
  // Fast path: Number() accepts the same finite decimal syntax as Python's float(),
  // plus three things Python rejects: '' / blanks (→ 0) and 0x/0b/0o prefixes.
  const x = Number(token);
  if (Number.isFinite(x)) {
    if (x === 0 && token.trim() === '') return undefined;
    const c0 = token.charCodeAt(0);
    const c1 = token.charCodeAt(1) | 0x20;
    if (c0 === 48 && (c1 === 120 || c1 === 98 || c1 === 111)) return undefined;
    return x;
  }
  // Slow path: inf/infinity/nan spellings, or not a number at all.
  if (!FLOAT_RE.test(token)) return undefined;
  const lower = token.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.endsWith('inf') || lower.endsWith('infinity')) {
    return token.startsWith('-') ? -Infinity : Infinity;
  }
  return Number(token);
}

/** Parse an integer token like Python's `int()`; `undefined` when it is not an integer. */
export function parseIntToken(token: string): number | undefined {
  return INT_RE.test(token) ? Number(token) : undefined;
}

/** True when `token` is an integer literal. */
export function isIntToken(token: string): boolean {
  return INT_RE.test(token);
}

/**
 * Shortest decimal text that parses back to exactly `x` (JavaScript's own
 * round-trip representation), keeping the sign of -0 and spelling non-finite values
 * the way Python reads them ('nan', 'inf', '-inf').
 */
export function formatFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0 && Object.is(x, -0)) return '-0.0';
  return String(x);
}

/**
 * Format a float with a fixed number of decimals (like C's `%.{decimals}f`), or with
 * {@link formatFloat} when `decimals` is undefined.
 */
export function formatFloatWith(x: number, decimals: number | undefined): string {
  if (decimals === undefined || !Number.isFinite(x)) return formatFloat(x);
  return x.toFixed(decimals);
}

/** Split a line into whitespace-separated tokens. */
export function tokens(line: string): string[] {
  const t = line.trim();
  return t === '' ? [] : t.split(/\s+/);
}

/**
 * Split text into lines, accepting LF and CRLF line ends; a final line end does not
 * produce an extra empty line.
 */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * Lines of a byte or text stream, yielded one at a time with constant memory (the
 * stream's own backpressure applies; only the current partial line is buffered).
 */
export async function* streamLines(stream: AsyncIterable<string | Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl = rest.indexOf('\n', start);
    while (nl !== -1) {
      const end = nl > start && rest.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield rest.slice(start, end);
      start = nl + 1;
      nl = rest.indexOf('\n', start);
    }
    rest = rest.slice(start);
  }
  rest += decoder.decode();
  if (rest.endsWith('\r')) rest = rest.slice(0, -1);
  if (rest !== '') yield rest;
}
