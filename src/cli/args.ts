/** Command-line parsing on node:util's parseArgs, with errors phrased for people. */
import * as fs from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';

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
    return fs.readFileSync(file!, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** --text-field: the JSON Lines field / Parquet column holding a corpus's text (index and report). */
export const textFieldOption = { 'text-field': { type: 'string' } } as const;

/** --text-field's value; undefined when not given. */
export function textFieldArg(values: Record<string, unknown>): string | undefined {
  const field = values['text-field'] as string | undefined;
  if (field === '') throw new UsageError('--text-field needs a field name');
  return field;
}
