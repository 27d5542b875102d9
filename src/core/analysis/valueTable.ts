/**
 * The value→vocabulary table: for every memory of a model, the top-k and bottom-k tokens
 * of pᵢ = softmax(vᵢ·E) (or of the final-norm lens, as a setting) and max pᵢ. Search,
 * agreement and composition statistics all read it, so it is computed once, layer by
 * layer, streamed over the vocabulary (vocabStream.ts: memory bounded at any vocabulary
 * size), and cached on disk per model hash and setting.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultCacheDir } from '../graph/cache';
import { tryWriteFileAtomic } from '../io/atomic';
import type { Model } from '../model';
import { sliceRows } from '../tensor';
import { decodeValueTable, encodeValueTable, ValueTableFileError, type ValueTableData, type ValueTableKey } from './valueTableFile';
import { StreamedProjection, STREAM_ROWS, vocabParts } from './vocabStream';

export { ValueTableFileError } from './valueTableFile';

export const DEFAULT_TABLE_K = 50;

export interface ValueTableProgress {
  /** Memories scored so far against parts of the vocabulary, of `total` (memories × parts). */
  done: number;
  total: number;
  layer: number;
  /** The part of the vocabulary being scored (0-based), of `parts`. */
  part: number;
  parts: number;
}

export interface ValueTableOptions {
  /** Project through the final norm first (default false, as in Geva et al. 2021). */
  finalNorm?: boolean;
  /** Tokens kept per memory on each side (default 50). */
  k?: number;
  /** Rows per projection (default STREAM_ROWS); progress is reported after each. */
  batchSize?: number;
  /**
   * Bytes of the unembedding pre-packed at once (default PART_BYTES, 512 MB): the table's
   * memory beyond its results is about twice this while a part's session is built.
   */
  partBytes?: number;
  cacheDir?: string;
  /** Neither read nor write the cache. */
  noCache?: boolean;
  onProgress?: (p: ValueTableProgress) => void;
  /** Told when a cached file was unusable and is being rebuilt. */
  onCacheProblem?: (message: string) => void;
  signal?: AbortSignal;
}

export interface TokenProb {
  id: number;
  prob: number;
}

export class ValueTable {
  constructor(readonly data: ValueTableData) {}

  get nLayers(): number {
    return this.data.nLayers;
  }
  get dFf(): number {
    return this.data.dFf;
  }
  get k(): number {
    return this.data.k;
  }
  get finalNorm(): boolean {
    return this.data.finalNorm;
  }
  get size(): number {
    return this.data.nLayers * this.data.dFf;
  }

  /** Flat memory index m = layer·dFf + key, checked. */
  memory(layer: number, key: number): number {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.nLayers)) throw new Error(`layer ${layer} is outside 0..${this.nLayers - 1}`);
    if (!(Number.isInteger(key) && key >= 0 && key < this.dFf)) throw new Error(`key ${key} is outside 0..${this.dFf - 1}`);
    return layer * this.dFf + key;
  }

  /** The token pᵢ ranks first. */
  topId(layer: number, key: number): number {
    return this.data.topIds[this.memory(layer, key) * this.k];
  }

  maxProb(layer: number, key: number): number {
    return this.data.maxProb[this.memory(layer, key)];
  }

  top(layer: number, key: number, n = this.k): TokenProb[] {
    return this.side(this.data.topIds, this.data.topProbs, this.memory(layer, key), n);
  }

  bottom(layer: number, key: number, n = this.k): TokenProb[] {
    return this.side(this.data.bottomIds, this.data.bottomProbs, this.memory(layer, key), n);
  }

  private side(ids: Int32Array, probs: Float32Array, m: number, n: number): TokenProb[] {
    const base = m * this.k;
    return Array.from({ length: Math.min(n, this.k) }, (_, i) => ({ id: ids[base + i], prob: probs[base + i] }));
  }
}

function tableKey(model: Model, finalNorm: boolean, k: number): ValueTableKey {
  const c = model.config;
  return { modelHash: model.info.hash, finalNorm, nLayers: c.nLayers, dFf: c.dFf, vocabSize: c.vocabSize, k };
}

export function valueTablePath(cacheDir: string, key: ValueTableKey): string {
  return path.join(cacheDir, 'values', `${key.modelHash}-${key.finalNorm ? 'normed' : 'raw'}-k${key.k}.bin`);
}

/**
 * Decodes every memory's value vector. Nothing is read from or written to the cache; each
 * part of the vocabulary passes through temporary files beside the model's graph (see
 * tempGraph.ts), removed as soon as its session is built.
 */
export async function computeValueTable(model: Model, opts: ValueTableOptions = {}): Promise<ValueTable> {
  const key = tableKey(model, opts.finalNorm ?? false, Math.min(opts.k ?? DEFAULT_TABLE_K, model.config.vocabSize));
  const { nLayers, dFf, k } = key;
  const batch = opts.batchSize ?? STREAM_ROWS;
  const n = nLayers * dFf;
  const parts = vocabParts(model, opts.partBytes);
  const stream = new StreamedProjection(model, n, k, key.finalNorm ? 'normed' : 'raw');
  opts.signal?.throwIfAborted();
  for (const [part, tokens] of parts.entries()) {
    await stream.part(tokens, async (score) => {
      for (let layer = 0; layer < nLayers; layer++) {
        // read again for every part: one layer's values are held at a time
        const values = model.values(layer);
        for (let start = 0; start < dFf; start += batch) {
          opts.signal?.throwIfAborted();
          const end = Math.min(dFf, start + batch);
          await score(sliceRows(values, start, end), layer * dFf + start);
          opts.onProgress?.({ done: part * n + layer * dFf + end, total: n * parts.length, layer, part, parts: parts.length });
        }
      }
    });
  }
  const p = stream.result();
  return new ValueTable({ ...key, topIds: p.top.ids, topProbs: p.top.probs, bottomIds: p.bottom!.ids, bottomProbs: p.bottom!.probs, maxProb: p.maxProb });
}

/** Reads a cached table file, checked against the model and settings it must belong to. */
export function readValueTable(file: string, key: ValueTableKey): ValueTable {
  try {
    return new ValueTable(decodeValueTable(fs.readFileSync(file), key));
  } catch (e) {
    const why = e instanceof ValueTableFileError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
    throw new ValueTableFileError(`value table cache ${file} is unusable: ${why}`);
  }
}

/**
 * The table of a model, from the cache when a valid one is there, else computed and
 * then cached (atomically: cancellation or a crash never leaves a partial file). A
 * damaged or mismatched cache file is reported through onCacheProblem and rebuilt.
 */
export async function valueTable(model: Model, opts: ValueTableOptions = {}): Promise<ValueTable> {
  const key = tableKey(model, opts.finalNorm ?? false, Math.min(opts.k ?? DEFAULT_TABLE_K, model.config.vocabSize));
  const file = valueTablePath(opts.cacheDir ?? defaultCacheDir(), key);
  if (!opts.noCache && fs.existsSync(file)) {
    try {
      return readValueTable(file, key);
    } catch (e) {
      opts.onCacheProblem?.(`${(e as Error).message}; rebuilding it`);
      fs.rmSync(file, { force: true });
    }
  }
  const table = await computeValueTable(model, opts);
  if (!opts.noCache) tryWriteFileAtomic(file, encodeValueTable(table.data));
  return table;
}
