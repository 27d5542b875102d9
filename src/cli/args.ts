/** Command-line parsing on node:util's parseArgs, with errors phrased for people. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { decodeUtf8, readRegularFile } from '../core';

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as ReturnType<typeof parse>;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export function intOption(values: Record<string, unknown>, name: string, fallback: number, min = 1): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${String(raw)}"`);
  return n;
}

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
