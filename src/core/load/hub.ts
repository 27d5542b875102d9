/**
 * Hugging Face hub downloads. config.json and the tokenizer come through
 * transformers.js (its cache, its `env` switches); weight files, which transformers.js
 * has no public call for, are fetched from the same host and path template into the
 * same cache layout, streamed to disk with progress.
 *
 * A hub is a server FFN Lens does not control: every file name it supplies (the shards of
 * model.safetensors.index.json) must stay inside the model's cache folder, every file is
 * streamed to a fresh temporary name there and renamed into place only when complete, and
 * every request has connect and idle timeouts (hubFetch.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { weightFiles } from './checkpoint';
import { HubResponseError, timedFetch, hubTimeoutMs } from './hubFetch';
import { createFresh } from '../io/create';
import { writeError } from '../io/errors';
import { containedPath } from '../io/paths';
import { readJsonObject } from '../io/readFile';

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
  /** Connect and idle timeout of each request, ms (default $HF_HUB_DOWNLOAD_TIMEOUT s, else 30 s). */
  timeoutMs?: number;
}

/** A shard index is JSON, small next to the weights it lists. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;
/** What transformers.js fetches (config and tokenizer JSON, read into memory) may not be longer. */
const MAX_JSON_DOWNLOAD_BYTES = 512 * 1024 * 1024;

/** owner/name or a bare name, as the hub spells repository ids. */
export function looksLikeHubId(spec: string): boolean {
  return /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(spec) && !spec.endsWith('.bin') && !spec.includes('..');
}

export class HubUnavailableError extends Error {}

function offlineError(repo: string, file: string, cause: unknown): HubUnavailableError {
  if (cause instanceof HubUnavailableError) return cause;
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

/** The file's URL; each path segment is encoded, so a name cannot add a query or a fragment. */
function fileUrl(remoteHost: string, template: string, repo: string, revision: string, file: string): string {
  const base = remoteHost.endsWith('/') ? remoteHost : remoteHost + '/';
  return base + template.replaceAll('{model}', repo).replaceAll('{revision}', encodeURIComponent(revision)) + file.split('/').map(encodeURIComponent).join('/');
}

/**
 * Streams one file into `dest` through a fresh temporary name beside it (created
 * exclusively, never through a link), renamed into place when complete: a partial
 * download never looks complete. A server sending more than its content-length is cut off.
 */
async function fetchToFile(url: string, dest: string, file: string, opts: HubOptions): Promise<void> {
  const res = await timedFetch(hubTimeoutMs(opts.timeoutMs), opts.signal)(url);
  if (!res.ok || !res.body) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
  const total = Number(res.headers.get('content-length')) || undefined;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}`;
  const fd = createFresh(tmp);
  let loaded = 0;
  try {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        loaded += chunk.length;
        if (total !== undefined && loaded > total) throw new HubUnavailableError(`the hub sent more than the ${total} bytes it announced for ${file}; refusing the download`);
        for (let at = 0; at < chunk.length; ) at += fs.writeSync(fd, chunk, at);
        opts.onProgress?.({ file, loaded, total });
      }
      if (total !== undefined && loaded !== total) throw new HubUnavailableError(`the download of ${file} ended after ${loaded} of ${total} bytes`);
      fs.fsyncSync(fd);
    } catch (e) {
      throw (e as NodeJS.ErrnoException).syscall ? writeError(tmp, e) : e;
    } finally {
      fs.closeSync(fd);
    }
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
  const dir = containedPath(opts.cacheDir, repo, 'hub id');
  if (isComplete(dir)) return dir;
  const fetchFile = async (file: string, required: boolean): Promise<boolean> => {
    const dest = containedPath(dir, file, `a file of ${repo}`);
    if (fs.existsSync(dest)) return true;
    try {
      await fetchToFile(fileUrl(host, env.remotePathTemplate, repo, revision, file), dest, file, opts);
      return true;
    } catch (e) {
      if ((e as { status?: number }).status === 404 && !required) return false;
      if ((e as Error).name === 'AbortError' || e instanceof HubResponseError) throw e;
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
  const saved = { cacheDir: env.cacheDir, useFSCache: env.useFSCache, allowRemoteModels: env.allowRemoteModels, allowLocalModels: env.allowLocalModels, remoteHost: env.remoteHost, fetch: env.fetch };
  // no local lookups (transformers.js would read ./models/<repo> relative to the working
  // directory) and the same timeouts as every other request
  Object.assign(env, { cacheDir: opts.cacheDir, useFSCache: true, allowRemoteModels: true, allowLocalModels: false, remoteHost: host, fetch: timedFetch(hubTimeoutMs(opts.timeoutMs), opts.signal, MAX_JSON_DOWNLOAD_BYTES) });
  try {
    await AutoConfig.from_pretrained(repo, hubOptions);
    await AutoTokenizer.from_pretrained(repo, hubOptions);
  } catch (e) {
    if (e instanceof HubResponseError) throw e;
    throw offlineError(repo, 'config.json / tokenizer.json', e);
  } finally {
    Object.assign(env, saved);
  }
  // transformers.js caches config.json and tokenizer.json; write them where a local load looks
  await fetchFile('config.json', true);
  await fetchFile('tokenizer.json', true);
  await fetchFile('tokenizer_config.json', false);

  if (await fetchFile('model.safetensors.index.json', false)) {
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const map = readJsonObject(indexFile, 'safetensors index', MAX_INDEX_BYTES).weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new Error(`${indexFile}: no "weight_map" object`);
    const shards = [...new Set(Object.values(map))];
    // every name is checked before anything is fetched; a refused index leaves the cache
    try {
      for (const shard of shards) containedPath(dir, shard, indexFile);
    } catch (e) {
      fs.rmSync(indexFile, { force: true });
      throw e;
    }
    for (const shard of (shards as string[]).sort()) await fetchFile(shard, true);
  } else {
    await fetchFile('model.safetensors', true);
  }
  return dir;
}
