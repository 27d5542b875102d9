/**
 * The value table's projection, streamed over the vocabulary: each call scores a block
 * of rows against one chunk of tokens (fed as a view of Eᵀ, see vocab.ts) and returns that chunk's
 * top-k and bottom-k logits with its max and Σexp; the host merges them into running
 * top-k lists and a running log-sum-exp, and turns logits into probabilities at the end.
 * No call holds more than rows × chunk scores, so rows can be many (the MatMul packs E's
 * chunk once per call and reuses it for every row) while the buffers stay small at any
 * vocabulary size.
 */
import { GraphBuilder } from '../graph/builder';
import type { Model } from '../model';
import { DataType } from '../onnx/model';
import type { ModelSession } from '../runtime/session';
import type { HostTensor } from '../tensor';
import { unembedFeed, vocabScores, type LensMode, type Projection, type VocabTop } from './vocab';

/** Tokens per chunk and rows per call: 2^23 scores (32 MB) per buffer. Measured on the
 * Llama-3.2-1B shape (d 2,048, 2 cores): 256 rows ran 10–25% faster per row than 512 or
 * 1,024 (the scores stay in cache for the reductions), and onnxruntime's TopK cost per
 * score was about twice as high on 8,192-wide chunks as on 32,768-wide ones. */
export const STREAM_CHUNK = 32768;
export const STREAM_ROWS = 256;

const INPUT = 'x';
const K = 'k';
const OUT = { topLogits: 'top.logits', topIds: 'top.ids', bottomLogits: 'bottom.logits', bottomIds: 'bottom.ids', max: 'max', sumExp: 'sumexp' };

function streamGraph(model: Model, mode: LensMode): GraphBuilder {
  const g = new GraphBuilder('ffn-lens:vocab-stream');
  const x = g.input(INPUT, DataType.FLOAT, ['n', model.config.dModel]);
  const k = g.input(K, DataType.INT64, [1]);
  const scores = vocabScores(g, model, x, mode);
  for (const [largest, logits, ids] of [[1, OUT.topLogits, OUT.topIds], [0, OUT.bottomLogits, OUT.bottomIds]] as const) {
    const [v, i] = g.opMulti('TopK', [scores, k], 2, { axis: -1, largest, sorted: 1 });
    g.hook(logits, v);
    g.hook(ids, g.op('Cast', [i], { to: DataType.FLOAT }));
  }
  const axis = g.constInt([1]);
  const max = g.op('ReduceMax', [scores, axis], { keepdims: 1 });
  g.hook(OUT.sumExp, g.op('ReduceSum', [g.op('Exp', [g.op('Sub', [scores, max])]), axis], { keepdims: 0 }));
  g.hook(OUT.max, g.op('Squeeze', [max, axis]));
  return g;
}

/** The model owns the session (and releases it with itself). */
const sessionFor = (model: Model, mode: LensMode): Promise<ModelSession> => model.analysisSession(`vocab-stream-${mode}`, () => streamGraph(model, mode));

/** Running top-k (or bottom-k) of n rows: logits best first, ties to the lower token id. */
class RunningSide {
  readonly logits: Float64Array;
  readonly ids: Int32Array;
  private readonly scratchL: Float64Array;
  private readonly scratchI: Int32Array;

  constructor(
    private readonly n: number,
    private readonly k: number,
    private readonly largest: boolean,
  ) {
    this.logits = new Float64Array(n * k).fill(largest ? -Infinity : Infinity);
    this.ids = new Int32Array(n * k).fill(-1);
    this.scratchL = new Float64Array(k);
    this.scratchI = new Int32Array(k);
  }

  /** Merges a chunk's sorted kc best per row (ids local to the chunk starting at `offset`). */
  merge(logits: Float32Array, ids: Float32Array, kc: number, offset: number): void {
    const { k, largest } = this;
    const better = (a: number, b: number) => (largest ? a > b : a < b);
    for (let r = 0; r < this.n; r++) {
      const base = r * k;
      let i = 0;
      let j = 0;
      for (let o = 0; o < k; o++) {
        const c = j < kc ? logits[r * kc + j] : NaN;
        // the running list holds earlier chunks, i.e. lower ids: it wins ties
        if (j >= kc || (i < k && !better(c, this.logits[base + i]))) {
          this.scratchL[o] = this.logits[base + i];
          this.scratchI[o] = this.ids[base + i++];
        } else {
          this.scratchL[o] = c;
          this.scratchI[o] = offset + ids[r * kc + j++];
        }
      }
      this.logits.set(this.scratchL, base);
      this.ids.set(this.scratchI, base);
    }
  }

  /** Probabilities from logits and each row's log-sum-exp. */
  top(lse: Float64Array): VocabTop {
    const probs = new Float32Array(this.n * this.k);
    for (let i = 0; i < probs.length; i++) probs[i] = Math.exp(this.logits[i] - lse[Math.floor(i / this.k)]);
    return { ids: this.ids, probs, k: this.k };
  }
}

/**
 * Top-k and bottom-k tokens of softmax(x·E) (or of the final-norm lens) for each row of
 * `x`, equal to VocabProjector.project's up to the last bits of the probabilities, which
 * are computed here from float64 sums. k must not exceed the vocabulary.
 */
export async function projectStreamed(model: Model, x: HostTensor, k: number, opts: { finalNorm?: boolean; signal?: AbortSignal } = {}): Promise<Projection> {
  const n = x.shape[0];
  const V = model.config.vocabSize;
  if (!(Number.isInteger(k) && k >= 1 && k <= V)) throw new Error(`k must be in 1..${V}, got ${k}`);
  const session = await sessionFor(model, opts.finalNorm ? 'normed' : 'raw');
  const top = new RunningSide(n, k, true);
  const bottom = new RunningSide(n, k, false);
  const max = new Float64Array(n).fill(-Infinity);
  const sum = new Float64Array(n);
  const outputs = Object.values(OUT);
  for (let start = 0; start < V; start += STREAM_CHUNK) {
    opts.signal?.throwIfAborted();
    const end = Math.min(V, start + STREAM_CHUNK);
    const kc = Math.min(k, end - start);
    const feeds = { ...unembedFeed(model, { start, end }), [INPUT]: x, [K]: BigInt64Array.of(BigInt(kc)) };
    const out = await session.runFeeds(feeds, outputs);
    top.merge(out.get(OUT.topLogits)!.data, out.get(OUT.topIds)!.data, kc, start);
    bottom.merge(out.get(OUT.bottomLogits)!.data, out.get(OUT.bottomIds)!.data, kc, start);
    const m = out.get(OUT.max)!.data;
    const s = out.get(OUT.sumExp)!.data;
    for (let r = 0; r < n; r++) {
      // the running Σexp is kept relative to the running max
      if (m[r] > max[r]) {
        sum[r] = sum[r] * Math.exp(max[r] - m[r]) + s[r];
        max[r] = m[r];
      } else sum[r] += s[r] * Math.exp(m[r] - max[r]);
    }
  }
  const lse = max.map((m, r) => m + Math.log(sum[r]));
  const t = top.top(lse);
  const maxProb = new Float32Array(n);
  for (let r = 0; r < n; r++) maxProb[r] = t.probs[r * k];
  return { top: t, bottom: bottom.top(lse), maxProb };
}
