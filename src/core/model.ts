/**
 * A loaded model: tokenizer, instrumented onnxruntime session and access to the
 * weights analyses need (keys, values, output embedding) without running anything.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { familyFor } from './arch/registry';
import type { Linear, ModelConfig, Norm } from './arch/types';
import type { BuilderOptions, GraphBuilder, StoredTensor, WeightSink } from './graph/builder';
import { BUILDER_VERSION, checkpointHash, defaultCacheDir, GraphEntryWriter, graphEntry, readGraphEntry, removeGraphEntry, type GraphEntry, type HashPart } from './graph/cache';
import type { GraphInfo } from './graph/contract';
import type { Precision } from './graph/quantize';
import { StoredWeights } from './graph/storedWeights';
import { openTempGraph } from './graph/tempGraph';
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
  /** fp32 (exact) or int8 (weight-only quantized matrices; hooks stay fp32). */
  precision: Precision;
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
  /** Skip the graph cache (always build, into a temporary folder removed on dispose). */
  noCache?: boolean;
  /** fp32 (default, exact) or int8: weight matrices quantized to 8 bits inside the graph. */
  precision?: Precision;
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
  /** What the content hash covers: bytes already read, or files to stream. */
  contents: HashPart[];
  close(): void;
}

function openSource(src: ModelSource): OpenedCheckpoint {
  if (src.kind === 'llama2c') {
    const { config, weights, contents } = loadLlama2c(src.file);
    return { raw: config, weights, contents: [contents], tokenizer: async (n) => Llama2cTokenizer.fromFile(src.tokenizer, n), close: () => {} };
  }
  const ck = openCheckpoint(src.dir);
  const hasTokenizer = fs.existsSync(path.join(src.dir, 'tokenizer.json'));
  const tokenizer = async (n: number) => (hasTokenizer ? HfTokenizer.fromDirectory(src.dir, n) : new MissingTokenizer(n, src.dir));
  return { raw: ck.config, weights: ck.weights, contents: ck.contents, tokenizer, close: () => ck.weights.close() };
}

/** Reports bytes written while a graph is built, at most every 64 MB. */
const PROGRESS_BYTES = 64 << 20;

/** A graph built into `entry`: the weights stream to its data file as they are converted. */
function buildEntry(entry: GraphEntry, build: (opts: BuilderOptions) => { builder: GraphBuilder; info: GraphInfo }, precision: Precision, onBytes?: (n: number) => void, signal?: AbortSignal): StoredTensor[] {
  const writer = new GraphEntryWriter(entry);
  let written = 0;
  let reported = 0;
  const sink = {
    write(bytes: Uint8Array) {
      signal?.throwIfAborted();
      written += bytes.byteLength;
      if (onBytes && written - reported >= PROGRESS_BYTES) onBytes((reported = written));
      return writer.write(bytes);
    },
  };
  try {
    const { builder, info } = build({ sink, precision });
    writer.commit(builder.serialize(BUILDER_VERSION), info, builder.storedTensors());
    return [...builder.storedTensors()];
  } catch (e) {
    writer.abort();
    throw e;
  }
}

/** The I/O contract of an analysis graph: no transformer layers, its hooks' aliases. */
const analysisInfo = (builder: GraphBuilder): GraphInfo => ({ nLayers: 0, aliases: Object.fromEntries(builder.aliases()) });

/** A private folder for graphs that are not cached; removed when the model is disposed. */
const scratchDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-lens-graph-'));

export class Model {
  /** Analysis sessions (vocabulary projection, ranks), created on first use and released with the model. */
  private readonly sessions = new Map<string, Promise<ModelSession>>();
  /** Sessions of withConstSession in use; dispose() releases them too. */
  private readonly transient = new Set<ModelSession>();
  private scratch?: string;
  private disposed = false;

  private constructor(
    readonly info: ModelInfo,
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    private readonly session: ModelSession,
    private readonly weights: StoredWeights,
    scratch: string | undefined,
    private readonly threads: number | undefined,
  ) {
    this.scratch = scratch;
  }

  static async load(spec: string, opts: LoadOptions = {}): Promise<Model> {
    const cacheDir = opts.cacheDir ?? defaultCacheDir();
    const precision = opts.precision ?? 'fp32';
    const progress = opts.onProgress ?? (() => {});
    const onDownload = (p: DownloadProgress) =>
      progress({ stage: 'download', message: `downloading ${p.file}`, fraction: p.total ? p.loaded / p.total : undefined });
    const src = await resolveModel(spec, { cacheDir, hubEndpoint: opts.hubEndpoint, onDownload, signal: opts.signal });

    if (opts.memoryCheck !== false) assertMemoryFits(src, precision);
    const bytesTotal = checkpointFiles(src).reduce((a, f) => a + fs.statSync(f).size, 0);
    progress({ stage: 'read', message: `reading ${src.name}`, bytesRead: 0, bytesTotal });
    const opened = openSource(src);
    progress({ stage: 'read', message: `read ${src.name}`, bytesRead: bytesTotal, bytesTotal });
    let scratch: string | undefined;
    let session: ModelSession | undefined;
    try {
      const family = familyFor(opened.raw.model_type);
      const config = family.parseConfig(opened.raw);
      const hash = checkpointHash(opened.contents, opts.noCache ? undefined : cacheDir);
      const tokenizer = await opened.tokenizer(config.vocabSize);
      opts.signal?.throwIfAborted();

      let entry = graphEntry(path.join(cacheDir, 'graphs'), hash, precision);
      let record = opts.noCache ? undefined : readGraphEntry(entry);
      if (record) {
        progress({ stage: 'session', message: 'loading the cached graph' });
        // an entry onnxruntime rejects despite its checksums (another version wrote it) is rebuilt
        session = await ModelSession.create(entry.onnx, record.info, { threads: opts.threads }).catch(() => {
          removeGraphEntry(entry);
          return undefined;
        });
      }
      let tensors = record?.tensors;
      if (!session) {
        progress({ stage: 'build', message: `building the ${precision} graph` });
        const info: GraphInfo = { nLayers: config.nLayers, aliases: {} };
        const build = (o: BuilderOptions) => {
          const builder = buildTransformerGraph(family.convert(config, opened.raw, opened.weights), o);
          info.aliases = Object.fromEntries(builder.aliases());
          return { builder, info };
        };
        const onBytes = (n: number) => progress({ stage: 'build', message: `building the ${precision} graph: ${(n / 2 ** 20).toFixed(0)} MB written` });
        tensors = undefined;
        if (!opts.noCache) {
          try {
            tensors = buildEntry(entry, build, precision, onBytes, opts.signal);
          } catch (e) {
            // only a cache that cannot be written (EACCES, ENOSPC, …) falls back to a private folder
            if (opts.signal?.aborted || typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
          }
        }
        if (!tensors) {
          scratch = scratchDir();
          entry = graphEntry(scratch, hash, precision);
          tensors = buildEntry(entry, build, precision, onBytes, opts.signal);
        }
        // the checkpoint is no longer needed: analyses read weights from the built graph
        opened.close();
        opts.signal?.throwIfAborted();
        progress({ stage: 'session', message: 'creating the onnxruntime session' });
        session = await ModelSession.create(entry.onnx, info, { threads: opts.threads });
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
        precision,
      };
      const model = new Model(info, config, tokenizer, session, new StoredWeights(entry.data, tensors!), scratch, opts.threads);
      progress({ stage: 'ready', message: `${src.name} ready` });
      return model;
    } catch (e) {
      await session?.dispose();
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
      throw e;
    } finally {
      opened.close();
    }
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
    for (const [what, bounds] of [['floors', opts.candidateFloors], ['ceilings', opts.candidateCeilings]] as const) {
      for (const f of bounds ?? []) {
        if (f.length !== this.config.dFf && f.length !== 1) throw new Error(`candidate ${what} must have ${this.config.dFf} entries (one per key) or 1, got ${f.length}`);
      }
    }
    const out = await this.session.run(ids, hooks, interventions, opts);
    checkFinite(out, this.info.name);
    return out;
  }

  /**
   * Key matrix of a layer, [d_ff, d_model]: row i is key i (the up projection for gated
   * FFNs). Read from the built graph's weights on each call (at int8, dequantized).
   */
  keys(layer: number): HostTensor {
    return transpose2d(this.weights.get(`${this.layerPrefix(layer)}.up.weight`));
  }

  /** Value matrix of a layer, [d_ff, d_model]: row i is memory i's value vector. */
  values(layer: number): HostTensor {
    return this.weights.get(`${this.layerPrefix(layer)}.down.weight`);
  }

  /** Output embedding E as [d_model, vocab] plus optional bias. */
  unembed(): Linear {
    return this.weights.linear('unembed');
  }

  private checkTokenId(id: number): void {
    if (!(Number.isInteger(id) && id >= 0 && id < this.config.vocabSize)) throw new Error(`token id ${id} is outside the vocabulary (0..${this.config.vocabSize - 1})`);
  }

  /** Output embedding as one row per token, Eᵀ [vocab, d_model], plus optional bias: built without holding E beside it. */
  unembedRows(): { rows: HostTensor; bias?: HostTensor } {
    return { rows: this.weights.transposed('unembed.weight'), bias: this.weights.optional('unembed.bias') };
  }

  /** Tokens [start, end) of unembedRows: the rows in bands (never all of E at once) and the bias's range. */
  unembedRowRange(start: number, end: number): { bands: Iterable<Float32Array>; bias?: HostTensor } {
    const bias = this.weights.optional('unembed.bias');
    return { bands: this.weights.transposedBands('unembed.weight', start, end), bias: bias && { data: bias.data.slice(start, end), shape: [end - start] } };
  }

  /** One token's unembedding column [d_model] and bias (0 without one), read alone. */
  unembedColumn(id: number): { weight: Float32Array; bias: number } {
    this.checkTokenId(id);
    return this.weights.column('unembed', id);
  }

  finalNorm(): Norm {
    return this.weights.norm('final_norm');
  }

  /** Row `id` of the token embedding (unscaled; at int8, dequantized as the graph reads it). */
  embeddingRow(id: number): Float32Array {
    this.checkTokenId(id);
    return this.weights.row('embed', id);
  }

  /** The token embedding, [vocab, d_model] (unscaled; at int8, dequantized). */
  embedding(): HostTensor {
    // an int8 table is stored as quantized rows, which read back in matrix orientation [d, vocab]
    return this.weights.has('embed.q8') ? transpose2d(this.weights.get('embed')) : this.weights.get('embed');
  }

  /** The down projection's bias of a layer (added to every FFN output), if the family has one. */
  valueBias(layer: number): HostTensor | undefined {
    return this.weights.optional(`${this.layerPrefix(layer)}.down.bias`);
  }

  /** The norm applied to the FFN's output before the residual add (Gemma 2/3, OLMo 2), if any. */
  ffnPostNorm(layer: number): Norm | undefined {
    this.layerPrefix(layer);
    const name = `blocks.${layer}.ln2_post`;
    return this.weights.has(`${name}.weight`) ? this.weights.norm(name) : undefined;
  }

  /** Weight names as blocks.ts registers them. */
  private layerPrefix(layer: number): string {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.config.nLayers)) throw new Error(`layer ${layer} is outside 0..${this.config.nLayers - 1}`);
    return `blocks.${layer}.mlp`;
  }

  /**
   * A session over an analysis graph of this model (vocabulary projection, ranks), built
   * once per `key` on first use and released by dispose().
   */
  analysisSession(key: string, build: () => GraphBuilder): Promise<ModelSession> {
    if (this.disposed) return Promise.reject(new Error(`${this.info.name} has been disposed`));
    let s = this.sessions.get(key);
    if (!s) {
      // E is fed by reference (vocab.ts), so these graphs hold only small weights (norm gains,
      // biases) and are built in memory: nothing is written outside the cache
      const builder = build();
      s = ModelSession.create(Buffer.concat(builder.serialize(BUILDER_VERSION)), analysisInfo(builder), { threads: this.threads });
      this.sessions.set(key, s);
    }
    return s;
  }

  /**
   * Runs `use` on a session over an analysis graph that holds large weights as constants
   * (pre-packed once by onnxruntime, see tempGraph.ts), then releases it: for weights too
   * big to keep a session of, such as a part of the unembedding.
   */
  async withConstSession<T>(build: (sink: WeightSink) => GraphBuilder, use: (s: ModelSession) => Promise<T>): Promise<T> {
    if (this.disposed) throw new Error(`${this.info.name} has been disposed`);
    const dir = path.dirname(this.weights.dataFile);
    const session = await openTempGraph(dir, build, (file, builder) => ModelSession.create(file, analysisInfo(builder), { threads: this.threads }));
    this.transient.add(session);
    try {
      return await use(session);
    } finally {
      // dispose() may have released it already
      if (this.transient.delete(session)) await session.dispose();
    }
  }

  /** Releases every onnxruntime session of the model and removes its uncached graphs. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const analyses = [...this.sessions.values()];
    const transient = [...this.transient];
    this.sessions.clear();
    this.transient.clear();
    await Promise.allSettled([this.session.dispose(), ...analyses.map(async (s) => (await s).dispose()), ...transient.map((s) => s.dispose())]);
    this.weights.close();
    if (this.scratch) fs.rmSync(this.scratch, { recursive: true, force: true });
  }
}
