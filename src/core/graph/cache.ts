/**
 * On-disk cache of built graphs, keyed by the checkpoint's content and the builder
 * version, so a second load skips conversion and serialisation.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tryWriteFileAtomic } from '../io/atomic';
import type { GraphInfo } from './contract';

/** Bump whenever the graph a checkpoint produces changes. */
export const BUILDER_VERSION = 'ffn-lens-graph-9';

export function defaultCacheDir(): string {
  if (process.env.FFN_LENS_CACHE) return process.env.FFN_LENS_CACHE;
  const base = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(base, 'ffn-lens');
}

/**
 * The checkpoint's identity: a hash of its files' bytes alone, so indexes and tables
 * computed from it stay valid when the graph builder changes.
 */
export function checkpointHash(parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 32);
}

/** A built graph depends on the checkpoint and on the builder that made it. */
export const graphCachePath = (cacheDir: string, hash: string): string => path.join(cacheDir, 'graphs', `${hash}-${BUILDER_VERSION}.onnx`);

/** The runtime facts of a cached graph (GraphInfo) live beside it. */
const graphInfoPath = (graphFile: string): string => graphFile.replace(/\.onnx$/, '.json');

/** The GraphInfo of a cached graph, or undefined when the entry is absent or incomplete. */
export function readCachedGraphInfo(graphFile: string): GraphInfo | undefined {
  try {
    if (!fs.existsSync(graphFile)) return undefined;
    const info = JSON.parse(fs.readFileSync(graphInfoPath(graphFile), 'utf8')) as GraphInfo;
    return typeof info.nLayers === 'number' && typeof info.aliases === 'object' ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Stores a built graph and its GraphInfo; false when the cache cannot be written. */
export function writeCachedGraph(graphFile: string, chunks: readonly Uint8Array[], info: GraphInfo): boolean {
  return tryWriteFileAtomic(graphInfoPath(graphFile), [JSON.stringify(info)]) && tryWriteFileAtomic(graphFile, chunks);
}

export function removeCachedGraph(graphFile: string): void {
  fs.rmSync(graphFile, { force: true });
  fs.rmSync(graphInfoPath(graphFile), { force: true });
}
