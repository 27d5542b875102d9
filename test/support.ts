/** Test helpers: shared data lookup with explicit skips, temp dirs, greedy decoding. */
import type { TestContext } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sharedDir, sharedPath } from '../src/core/shared';
import type { Model } from '../src/core';
import { PREDICTION_IDS } from '../src/core/hooks';
import { main } from '../src/cli/main';

/** The shared-data path, or undefined after marking the test skipped with the reason. */
export function sharedOrSkip(t: TestContext, ...parts: string[]): string | undefined {
  const p = sharedPath(...parts);
  if (!p) t.skip(`shared data not found at ${path.join(sharedDir(), ...parts)} (set FFN_LENS_SHARED)`);
  return p;
}

/** A fresh temporary directory, removed when the test process exits. */
export function tempDir(prefix = 'ffn-lens-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Greedy decoding without a KV cache: one full forward pass per new token. */
export async function greedy(model: Model, prompt: number[], steps: number): Promise<number[]> {
  const seq = [...prompt];
  for (let i = 0; i < steps; i++) {
    const out = await model.run([seq], [PREDICTION_IDS]);
    const t = out.get(PREDICTION_IDS)!;
    const k = t.dims[2];
    seq.push(t.data[(seq.length - 1) * k]);
  }
  return seq;
}

/** Runs the CLI in-process and returns its exit code with what it printed. */
export async function runCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s), isTTY: false });
  return { code, stdout: out.join(''), stderr: err.join('') };
}
