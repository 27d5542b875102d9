/**
 * A loaded model: tokenizer, instrumented onnxruntime session and access to the
 * weights analyses need (keys, values, output embedding) without running anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { familyFor } from './arch/registry';
import type { ArchFamily, CanonicalModel, Linear, ModelConfig, Norm } from './arch/types';
import { BUILDER_VERSION, checkpointHash, defaultCacheDir, graphCachePath, readCachedGraphInfo, removeCachedGraph, writeCachedGraph } from './graph/cache';
import { buildTransformerGraph } from './graph/transformer';
import { allHookNames } from './hooks';
import { openCheckpoint } from './load/checkpoint';
import type { DownloadProgress } from './load/hub';
import { loadLlama2c } from './load/llama2c';
import { assertMemoryFits, checkpointFiles } from './load/memoryEstimate';
import { resolveModel, type ModelSource } from './load/resolve';
import type { WeightStore } from './load/weights';
import { ModelSession, type HookTensor, type Intervention, type RunOptions } from './runtime/session';
import { checkFinite } from './runtime/finite';
import { transpose2d, type HostTensor } from './tensor';
import { HfTokenizer } from './tokenize/hf';
import { Llama2cTokenizer } from './tokenize/llama2c';
import { MissingTokenizer } from './tokenize/missing';
import type { Tokenizer } from './tokenize/types';

export interface ModelInfo {
  name: string;
  family: string;
  modelType: string;
  nLayers: number;
  dModel: number;
  dFf: number;
  nHeads: number;
  vocabSize: number;
  contextSize: number;
  /** Content hash of the checkpoint's files: identifies the model in caches and indexes. */
  hash: string;
  source: string;
}

export interface LoadProgress {
  stage: 'download' | 'read' | 'build' | 'session' | 'ready';
  message: string;
  fraction?: number;
  /** While reading: checkpoint bytes read so far, of bytesTotal (the weight files' size). */
  bytesRead?: number;
  bytesTotal?: number;
}

export interface LoadOptions {
  /** Where built graphs and hub downloads are kept (default ~/.cache/ffn-lens). */
  cacheDir?: string;
  /** Hub address for hub ids (a mirror); default $HF_ENDPOINT or huggingface.co. */
  hubEndpoint?: string;
  /** Skip the graph cache (always build). */
  noCache?: boolean;
  threads?: number;
  /**
   * Refuse (InsufficientMemoryError) a load that the free memory cannot hold, estimated from
   * the checkpoint's headers before anything is read (default true).
   */
  memoryCheck?: boolean;
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
}

interface OpenedCheckpoint {
  raw: Record<string, unknown>;
  weights: WeightStore;
  tokenizer: (vocabSize: number) => Promise<Tokenizer>;
  /** The checkpoint's bytes as the loader read them (hashed, not read again). */
  contents: Uint8Array[];
}

function openSource(src: ModelSource): OpenedCheckpoint {
  if (src.kind === 'llama2c') {
    const { config, weights, contents } = loadLlama2c(src.file);
    return { raw: config, weights, contents: [contents], tokenizer: async (n) => Llama2cTokenizer.fromFile(src.tokenizer, n) };
  }
  const ck = openCheckpoint(src.dir);
  const hasTokenizer = fs.existsSync(path.join(src.dir, 'tokenizer.json'));
  const tokenizer = async (n: number) => (hasTokenizer ? HfTokenizer.fromDirectory(src.dir, n) : new MissingTokenizer(n, src.dir));
  return { raw: ck.config, weights: ck.weights, contents: ck.contents, tokenizer };
}

export class Model {
  private canonicalCache?: CanonicalModel;

  private constructor(
    readonly info: ModelInfo,
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    private readonly session: ModelSession,
    private readonly family: ArchFamily,
    private readonly raw: Record<string, unknown>,
    private readonly weights: WeightStore,
  ) {}

  static async load(spec: string, opts: LoadOptions = {}): Promise<Model> {
    const cacheDir = opts.cacheDir ?? defaultCacheDir();
    const progress = opts.onProgress ?? (() => {});
    const onDownload = (p: DownloadProgress) =>
      progress({ stage: 'download', message: `downloading ${p.file}`, fraction: p.total ? p.loaded / p.total : undefined });
    const src = await resolveModel(spec, { cacheDir, hubEndpoint: opts.hubEndpoint, onDownload, signal: opts.signal });

    if (opts.memoryCheck !== false) assertMemoryFits(src, 'fp32');
    const bytesTotal = checkpointFiles(src).reduce((a, f) => a + fs.statSync(f).size, 0);
    progress({ stage: 'read', message: `reading ${src.name}`, bytesRead: 0, bytesTotal });
    const opened = openSource(src);
    progress({ stage: 'read', message: `read ${src.name}`, bytesRead: bytesTotal, bytesTotal });
    const family = familyFor(opened.raw.model_type);
    const config = family.parseConfig(opened.raw);
    const hash = checkpointHash(opened.contents);
    const tokenizer = await opened.tokenizer(config.vocabSize);
    opts.signal?.throwIfAborted();

    const cached = graphCachePath(cacheDir, hash);
    const cachedInfo = opts.noCache ? undefined : readCachedGraphInfo(cached);
    let session: ModelSession | undefined;
    if (cachedInfo) {
      progress({ stage: 'session', message: 'loading the cached graph' });
      // a damaged cache entry is rebuilt rather than reported
      session = await ModelSession.create(cached, cachedInfo, { threads: opts.threads }).catch(() => {
        removeCachedGraph(cached);
        return undefined;
      });
    }
    if (!session) {
      progress({ stage: 'build', message: 'building the instrumented graph' });
      const builder = buildTransformerGraph(family.convert(config, opened.raw, opened.weights));
      const graphInfo = { nLayers: config.nLayers, aliases: Object.fromEntries(builder.aliases()) };
      // The fp32 weights and the serialised graph are not kept: onnxruntime holds its own
      // copy, and handing it the cached file lets both be collected before it allocates.
      let chunks: Uint8Array[] | undefined = builder.serialize(BUILDER_VERSION);
      const graph = !opts.noCache && writeCachedGraph(cached, chunks, graphInfo) ? cached : Buffer.concat(chunks);
      chunks = undefined;
      opts.signal?.throwIfAborted();
      progress({ stage: 'session', message: 'creating the onnxruntime session' });
      session = await ModelSession.create(graph, graphInfo, { threads: opts.threads });
    }
    const info: ModelInfo = {
      name: src.name,
      family: config.family,
      modelType: config.modelType,
      nLayers: config.nLayers,
      dModel: config.dModel,
      dFf: config.dFf,
      nHeads: config.nHeads,
      vocabSize: config.vocabSize,
      contextSize: config.contextSize,
      hash,
      source: src.kind === 'hf' ? src.dir : src.file,
    };
    progress({ stage: 'ready', message: `${src.name} ready` });
    return new Model(info, config, tokenizer, session, family, opened.raw, opened.weights);
  }

  /** Every hook this model's graph exposes. */
  get hookNames(): string[] {
    return allHookNames(this.config.nLayers);
  }

  /**
   * Runs a batch of token-id sequences of equal length and returns the requested hooks,
   * each [batch, seq, …] (candidate hooks excepted, see candidateHook). Only the
   * requested hooks are computed and copied out.
   */
  async run(ids: number[][], hooks: readonly string[], interventions: readonly Intervention[] = [], opts: RunOptions = {}): Promise<Map<string, HookTensor>> {
    const seq = ids[0]?.length ?? 0;
    if (seq > this.config.contextSize) throw new Error(`${seq} tokens exceed the model's context of ${this.config.contextSize}`);
    for (const row of ids) {
      for (const id of row) if (!(Number.isInteger(id) && id >= 0 && id < this.config.vocabSize)) throw new Error(`token id ${id} is outside the vocabulary (0..${this.config.vocabSize - 1})`);
    }
    for (const iv of interventions) {
      if (!(Number.isInteger(iv.key) && iv.key >= 0 && iv.key < this.config.dFf)) throw new Error(`intervention: key ${iv.key} is outside 0..${this.config.dFf - 1}`);
    }
    for (const f of opts.candidateFloors ?? []) {
      if (f.length !== this.config.dFf && f.length !== 1) throw new Error(`candidate floors must have ${this.config.dFf} entries (one per key) or 1, got ${f.length}`);
    }
    const out = await this.session.run(ids, hooks, interventions, opts);
    checkFinite(out, this.info.name);
    return out;
  }

  /** The model in canonical orientation, converted on first use (analyses need it, inference does not). */
  canonical(): CanonicalModel {
    this.canonicalCache ??= this.family.convert(this.config, this.raw, this.weights);
    return this.canonicalCache;
  }

  /** Key matrix of a layer, [d_ff, d_model]: row i is key i (the up projection for gated FFNs). */
  keys(layer: number): HostTensor {
    return transpose2d(this.block(layer).up.weight);
  }

  /** Value matrix of a layer, [d_ff, d_model]: row i is memory i's value vector. */
  values(layer: number): HostTensor {
    return this.block(layer).down.weight;
  }

  /** Output embedding E as [d_model, vocab] plus optional bias. */
  unembed(): Linear {
    return this.canonical().unembed;
  }

  finalNorm(): Norm {
    return this.canonical().finalNorm;
  }

  private block(layer: number) {
    const b = this.canonical().blocks[layer];
    if (!b) throw new Error(`layer ${layer} is outside 0..${this.config.nLayers - 1}`);
    return b;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}
