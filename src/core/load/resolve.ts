/**
 * What a model argument names: a Hugging Face directory, a llama2.c checkpoint, or a
 * hub id to download into the cache.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { downloadModel, looksLikeHubId, type DownloadProgress } from './hub';

export type ModelSource = { kind: 'hf'; dir: string; name: string } | { kind: 'llama2c'; file: string; tokenizer: string; name: string };

/** The tokenizer beside a llama2.c checkpoint: tok*.bin or tokenizer.bin. */
function llama2cTokenizerFor(file: string): string {
  const dir = path.dirname(file);
  const candidates = fs.readdirSync(dir).filter((f) => /^tok.*\.bin$/.test(f) && path.join(dir, f) !== file).sort();
  if (candidates.length === 0) throw new Error(`no llama2.c tokenizer (tok*.bin) next to ${file}`);
  return path.join(dir, candidates[0]);
}

export async function resolveModel(
  spec: string,
  opts: { cacheDir: string; hubEndpoint?: string; onDownload?: (p: DownloadProgress) => void; signal?: AbortSignal },
): Promise<ModelSource> {
  const trimmed = spec.trim();
  if (!trimmed) throw new Error('no model given: pass a model directory, a llama2.c .bin file or a hub id');
  const abs = path.resolve(trimmed);
  if (fs.existsSync(abs)) {
    const stat = fs.statSync(abs);
    if (stat.isDirectory()) {
      if (!fs.existsSync(path.join(abs, 'config.json'))) throw new Error(`${abs} is a directory without config.json, so it is not a Hugging Face model directory`);
      return { kind: 'hf', dir: abs, name: path.basename(abs) };
    }
    if (abs.endsWith('.bin')) return { kind: 'llama2c', file: abs, tokenizer: llama2cTokenizerFor(abs), name: path.basename(abs, '.bin') };
    throw new Error(`${abs}: not a model (expected a directory with config.json or a llama2.c .bin checkpoint)`);
  }
  if (looksLikeHubId(trimmed) && trimmed.includes('/')) {
    const dir = await downloadModel(trimmed, { cacheDir: path.join(opts.cacheDir, 'hub'), endpoint: opts.hubEndpoint, onProgress: opts.onDownload, signal: opts.signal });
    return { kind: 'hf', dir, name: trimmed };
  }
  throw new Error(`model "${spec}" not found: give a model directory, a llama2.c .bin file, or a hub id such as openai-community/gpt2`);
}
