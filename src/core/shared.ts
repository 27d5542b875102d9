/**
 * Where the project's shared data (models, corpora) lives: $FFN_LENS_SHARED, else
 * ../shared beside the working directory. Used for defaults and tests, never required.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function sharedDir(): string {
  return path.resolve(process.env.FFN_LENS_SHARED ?? path.join(process.cwd(), '..', 'shared'));
}

/** A path inside the shared data, or undefined when it is not there. */
export function sharedPath(...parts: string[]): string | undefined {
  const p = path.join(sharedDir(), ...parts);
  return fs.existsSync(p) ? p : undefined;
}

/** The default model: gpt2-books from the shared data when present, else GPT-2 small from the hub. */
export function defaultModelSpec(): string {
  return sharedPath('models', 'gpt2-books') ?? 'openai-community/gpt2';
}
