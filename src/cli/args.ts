/** Command-line parsing on node:util's parseArgs, with errors phrased for people. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { decodeUtf8, readRegularFile } from '../core';

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `--layer -1` as `--layer=-1`: parseArgs calls an option value that starts with a dash
 * ambiguous, but a negative number is a value (which then gets its range check).
 */
function joinNegativeNumbers(argv: string[], options: Options): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a.startsWith('--') ? a : `--${Object.entries(options).find(([, o]) => `-${o.short}` === a)![0]}`}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export function parse(argv: string[], options: Options): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args: joinNegativeNumbers(argv, options), options, allowPositionals: true, strict: true }) as ReturnType<typeof parse>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** Upper bounds of the count options: far above any useful value, far below an allocation that fails. */
export const MAX_COUNT = 1000;

/**
 * An integer option in [min, max]: decimal digits only ("1e9", "0x10", "2.5" and "abc" are
 * refused), so a typo is a usage error rather than a huge allocation or a NaN.
 */
export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 1, max = MAX_COUNT): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = /^[+-]?\d+$/.test(String(raw).trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${String(raw)}"`);
  return n;
}

/** A finite number option (thresholds may be negative: gated FFN coefficients are signed). */
export function numberOption(values: Record<string, unknown>, name: string, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = String(raw).trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${String(raw)}"`);
  return n;
}

/** The options inputText reads, for every command that works on one text. */
export const textOptions = {
  text: { type: 'string', short: 't' },
  file: { type: 'string', short: 'f' },
} as const;

/** The text to work on, from --text or --file (exactly one). */
export function inputText(values: Record<string, unknown>): string {
  const text = values.text as string | undefined;
  const file = values.file as string | undefined;
  if ((text === undefined) === (file === undefined)) throw new UsageError('give exactly one of --text T or --file F');
  if (text !== undefined) return text;
  try {
    // the same rule as corpus files: a regular file of strict UTF-8 (no silent U+FFFD)
    return decodeUtf8(readRegularFile(file!, '--file', { maxBytes: MAX_INPUT_BYTES }), file!, '--file');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --file is one text to analyse in a forward pass, not a corpus (that is `index --corpus`). */
const MAX_INPUT_BYTES = 64 * 1024 * 1024;

/** --text-field: the JSON Lines field / Parquet column holding a corpus's text (index and report). */
export const textFieldOption = { 'text-field': { type: 'string' } } as const;

/** --text-field's value; undefined when not given. */
export function textFieldArg(values: Record<string, unknown>): string | undefined {
  const field = values['text-field'] as string | undefined;
  if (field === '') throw new UsageError('--text-field needs a field name');
  return field;
}
