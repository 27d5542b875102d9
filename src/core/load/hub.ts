/**
 * Hugging Face hub downloads. config.json and the tokenizer come through
 * transformers.js (its cache, its `env` switches); weight files, which transformers.js
 * has no public call for, are fetched from the same host and path template into the
 * same cache layout, streamed to disk with progress.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { weightFiles } from './checkpoint';

export interface DownloadProgress {
  file: string;
  loaded: number;
  total?: number;
}

export interface HubOptions {
  cacheDir: string;
  /** Hub address (a mirror, or a test server); default $HF_ENDPOINT, else transformers.js's remoteHost. */
  endpoint?: string;
  revision?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
}

/** owner/name or a bare name, as the hub spells repository ids. */
export function looksLikeHubId(spec: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(spec) && !spec.endsWith('.bin') && !spec.includes('..');
}

export class HubUnavailableError extends Error {}

function offlineError(repo: string, file: string, cause: unknown): HubUnavailableError {
  const why = cause instanceof Error ? ((cause.cause as { code?: string } | undefined)?.code ?? cause.message) : String(cause);
  return new HubUnavailableError(
    `cannot download ${file} of "${repo}" from the Hugging Face hub (${why}). ` +
      `If this machine is offline, download the model elsewhere and give FFN Lens its local directory ` +
      `(config.json, *.safetensors, tokenizer.json) instead of the hub id.`,
  );
}

async function transformers() {
  return import('@huggingface/transformers');
}

function fileUrl(remoteHost: string, template: string, repo: string, revision: string, file: string): string {
  const base = remoteHost.endsWith('/') ? remoteHost : remoteHost + '/';
  return base + template.replaceAll('{model}', repo).replaceAll('{revision}', encodeURIComponent(revision)) + file;
}

/** Streams one file into `dest` (atomically: a partial download never looks complete). */
async function fetchToFile(url: string, dest: string, file: string, opts: HubOptions): Promise<void> {
  const res = await fetch(url, { signal: opts.signal });
  if (!res.ok || !res.body) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  const total = Number(res.headers.get('content-length')) || undefined;
  let loaded = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      loaded += chunk.length;
      opts.onProgress?.({ file, loaded, total });
      done(null, chunk);
    },
  });
  const tmp = `${dest}.part-${process.pid}`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), counter, fs.createWriteStream(tmp), { signal: opts.signal });
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** A cached model directory that needs nothing more from the network. */
function isComplete(dir: string): boolean {
  if (!fs.existsSync(path.join(dir, 'config.json')) || !fs.existsSync(path.join(dir, 'tokenizer.json'))) return false;
  try {
    weightFiles(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure config, tokenizer and weights of `repo` are in the cache and returns the
 * local directory holding them.
 */
export async function downloadModel(repo: string, opts: HubOptions): Promise<string> {
  const { env, AutoConfig, AutoTokenizer } = await transformers();
  const revision = opts.revision ?? 'main';
  const host = opts.endpoint ?? process.env.HF_ENDPOINT ?? env.remoteHost;
  const dir = path.join(opts.cacheDir, repo);
  if (isComplete(dir)) return dir;
  const fetchFile = async (file: string, required: boolean): Promise<boolean> => {
    const dest = path.join(dir, file);
    if (fs.existsSync(dest)) return true;
    try {
      await fetchToFile(fileUrl(host, env.remotePathTemplate, repo, revision, file), dest, file, opts);
      return true;
    } catch (e) {
      if ((e as { status?: number }).status === 404 && !required) return false;
      if ((e as Error).name === 'AbortError') throw e;
      throw offlineError(repo, file, e);
    }
  };

  const hubOptions = {
    cache_dir: opts.cacheDir,
    revision,
    progress_callback: (p: { status: string; file?: string; loaded?: number; total?: number }) => {
      if (p.status === 'progress' && p.file) opts.onProgress?.({ file: p.file, loaded: p.loaded ?? 0, total: p.total });
    },
  };
  const saved = { cacheDir: env.cacheDir, useFSCache: env.useFSCache, allowRemoteModels: env.allowRemoteModels, remoteHost: env.remoteHost };
  Object.assign(env, { cacheDir: opts.cacheDir, useFSCache: true, allowRemoteModels: true, remoteHost: host });
  try {
    await AutoConfig.from_pretrained(repo, hubOptions);
    await AutoTokenizer.from_pretrained(repo, hubOptions);
  } catch (e) {
    throw offlineError(repo, 'config.json / tokenizer.json', e);
  } finally {
    Object.assign(env, saved);
  }
  // transformers.js caches config.json and tokenizer.json; write them where a local load looks
  await fetchFile('config.json', true);
  await fetchFile('tokenizer.json', true);
  await fetchFile('tokenizer_config.json', false);

  if (await fetchFile('model.safetensors.index.json', false)) {
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    for (const shard of [...new Set(Object.values(index.weight_map))].sort()) await fetchFile(shard, true);
  } else {
    await fetchFile('model.safetensors', true);
  }
  return dir;
}
