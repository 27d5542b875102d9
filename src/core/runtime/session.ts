/**
 * The only module that imports onnxruntime: sessions over built graphs, runs that fetch
 * just the hooks asked for, and interventions turned into the graph's patch inputs.
 */
import './offline'; // first: sets ORT_DISABLE_TELEMETRY before onnxruntime-node loads
import * as ort from 'onnxruntime-node';
import { candidateCeilingInput, candidateFloorInput, INPUT_IDS, patchInputs, WANT_CANDIDATES, WANT_LOGITS, WANT_PREDICTIONS, type GraphInfo } from '../graph/contract';
import { isCandidateHook, LOGITS, PREDICTION_IDS, PREDICTION_PROBS } from '../hooks';

/** Set a memory coefficient to `value`, or multiply it by `value`. */
export interface Intervention {
  layer: number;
  key: number;
  mode: 'set' | 'scale';
  value: number;
  /** Positions to patch; all positions when omitted. */
  positions?: number[];
}

/** Per-run settings beyond the ids, hooks and interventions. */
export interface RunOptions {
  /**
   * Per layer, the floor of each key's candidates (blocks.{l}.mlp.candidates): length
   * dFf, or 1 for one floor for all keys. Without it every coefficient is a candidate.
   */
  candidateFloors?: readonly Float32Array[];
  /**
   * Gated models only: per layer, the ceiling of each key's candidates (also candidates:
   * coefficients at or below it), shaped like the floors. Without it no coefficient is a
   * candidate for being low.
   */
  candidateCeilings?: readonly Float32Array[];
}

export interface HookTensor {
  data: Float32Array;
  dims: number[];
}

export interface SessionOptions {
  /** Intra-op threads; 0 lets onnxruntime choose. */
  threads?: number;
}

/** Feeds for a generic graph: fp32 tensors, or int64 vectors. */
export type Feed = { data: Float32Array; shape: number[] } | BigInt64Array;

export class ModelSession {
  /** Fed when a run gives no floors: broadcasts over the keys, so any dFf fits. */
  private readonly noFloor = new ort.Tensor('float32', Float32Array.of(-Infinity), [1]);
  /** Fed when a run gives no ceilings to a graph that takes them (gated models): nothing is ≤ −∞. */
  private readonly noCeiling = new ort.Tensor('float32', Float32Array.of(-Infinity), [1]);
  /** Whether the graph filters candidates on both sides (a gated FFN's; see candidateHook). */
  private readonly takesCeilings: boolean;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly info: GraphInfo,
  ) {
    this.takesCeilings = info.nLayers > 0 && session.inputNames.includes(candidateCeilingInput(0));
  }

  static async create(model: Uint8Array | string, info: GraphInfo, opts: SessionOptions = {}): Promise<ModelSession> {
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
      // Defaults kept on purpose (measured in bench:scale, see the README): external weights
      // are memory-mapped and MatMul weights pre-packed, which costs a transient of about
      // 20% of the weights while the session is created; disabling pre-packing
      // ("session.disable_prepacking") avoids it but made forward passes ~25% slower.
    };
    const session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    return new ModelSession(session, info);
  }

  /** Runs a graph that is not a transformer (e.g. the vocabulary projection). */
  async runFeeds(feeds: Record<string, Feed>, outputs: readonly string[]): Promise<Map<string, HookTensor>> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      tensors[name] = f instanceof BigInt64Array ? new ort.Tensor('int64', f, [f.length]) : new ort.Tensor('float32', f.data, f.shape);
    }
    return this.fetch(tensors, outputs);
  }

  private outputFor(hook: string): string {
    let name = hook;
    while (this.info.aliases[name]) name = this.info.aliases[name];
    return name;
  }

  private async fetch(feeds: Record<string, ort.Tensor>, hooks: readonly string[]): Promise<Map<string, HookTensor>> {
    const outputs = [...new Set(hooks.map((h) => this.outputFor(h)))];
    const out = await this.session.run(feeds, outputs);
    const result = new Map<string, HookTensor>();
    for (const hook of hooks) {
      const t = out[this.outputFor(hook)];
      result.set(hook, { data: t.data as Float32Array, dims: t.dims.slice() });
    }
    return result;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * Runs a batch of equally long sequences. Shorter sequences may be right-padded by
   * the caller: attention is causal, so padding never changes earlier positions.
   */
  async run(ids: number[][], hooks: readonly string[], interventions: readonly Intervention[] = [], opts: RunOptions = {}): Promise<Map<string, HookTensor>> {
    const batch = ids.length;
    const seq = ids[0]?.length ?? 0;
    if (batch === 0 || seq === 0) throw new Error('run: no tokens to run');
    if (ids.some((row) => row.length !== seq)) throw new Error('run: sequences in a batch must have equal length (pad them)');
    const flat = new BigInt64Array(batch * seq);
    ids.forEach((row, b) => row.forEach((id, t) => (flat[b * seq + t] = BigInt(id))));
    const predictions = hooks.includes(PREDICTION_PROBS) || hooks.includes(PREDICTION_IDS);
    const flag = (on: boolean) => new ort.Tensor('bool', Uint8Array.of(on ? 1 : 0), []);
    const feeds: Record<string, ort.Tensor> = {
      [INPUT_IDS]: new ort.Tensor('int64', flat, [batch, seq]),
      [WANT_LOGITS]: flag(hooks.includes(LOGITS)),
      [WANT_PREDICTIONS]: flag(predictions),
      [WANT_CANDIDATES]: flag(hooks.some(isCandidateHook)),
    };
    const floors = opts.candidateFloors;
    const ceilings = opts.candidateCeilings;
    if (floors && floors.length !== this.info.nLayers) throw new Error(`run: ${floors.length} candidate floors given for ${this.info.nLayers} layers`);
    if (ceilings && ceilings.length !== this.info.nLayers) throw new Error(`run: ${ceilings.length} candidate ceilings given for ${this.info.nLayers} layers`);
    const signed = this.takesCeilings;
    if (ceilings && !signed) throw new Error('run: candidate ceilings given to a model whose FFN is not gated (its trigger index is unsigned)');
    for (let l = 0; l < this.info.nLayers; l++) {
      feeds[candidateFloorInput(l)] = floors ? new ort.Tensor('float32', floors[l], [floors[l].length]) : this.noFloor;
      if (signed) feeds[candidateCeilingInput(l)] = ceilings ? new ort.Tensor('float32', ceilings[l], [ceilings[l].length]) : this.noCeiling;
    }
    Object.assign(feeds, this.patchFeeds(batch, seq, interventions));
    return this.fetch(feeds, hooks);
  }

  /** One (index, scale, shift) triple per layer; entries hitting one slot compose in order. */
  private patchFeeds(batch: number, seq: number, interventions: readonly Intervention[]): Record<string, ort.Tensor> {
    const perLayer = Array.from({ length: this.info.nLayers }, () => new Map<string, { b: number; t: number; key: number; scale: number; shift: number }>());
    for (const iv of interventions) {
      if (!(iv.layer >= 0 && iv.layer < this.info.nLayers)) throw new Error(`intervention: layer ${iv.layer} is outside 0..${this.info.nLayers - 1}`);
      const positions = iv.positions ?? Array.from({ length: seq }, (_, t) => t);
      for (const t of positions) {
        if (!(t >= 0 && t < seq)) throw new Error(`intervention: position ${t} is outside 0..${seq - 1}`);
        for (let b = 0; b < batch; b++) {
          const slot = `${b}:${t}:${iv.key}`;
          const prev = perLayer[iv.layer].get(slot) ?? { b, t, key: iv.key, scale: 1, shift: 0 };
          // compose: new(c) = iv(prev(c))
          const next = iv.mode === 'set' ? { scale: 0, shift: iv.value } : { scale: prev.scale * iv.value, shift: prev.shift * iv.value };
          perLayer[iv.layer].set(slot, { ...prev, ...next });
        }
      }
    }
    const feeds: Record<string, ort.Tensor> = {};
    perLayer.forEach((slots, layer) => {
      const rows = [...slots.values()];
      const names = patchInputs(layer);
      feeds[names.index] = new ort.Tensor('int64', BigInt64Array.from(rows.flatMap((r) => [BigInt(r.b), BigInt(r.t), BigInt(r.key)])), [rows.length, 3]);
      feeds[names.scale] = new ort.Tensor('float32', Float32Array.from(rows.map((r) => r.scale)), [rows.length]);
      feeds[names.shift] = new ort.Tensor('float32', Float32Array.from(rows.map((r) => r.shift)), [rows.length]);
    });
    return feeds;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
