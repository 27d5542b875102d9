/**
 * Projections of many rows (every value vector of a model) into the vocabulary, streamed
 * over it: the vocabulary is cut into parts, each part's rows of Eᵀ are a constant of one
 * session (pre-packed once by onnxruntime instead of on every call, see tempGraph.ts), and
 * every row is scored against one part before the next part is built. Each call returns a
 * block of rows' top-k and bottom-k logits in the part with their max and Σexp; the host
 * merges them into running top-k lists and a running log-sum-exp for every row, and turns
 * logits into probabilities at the end. Memory is one packed part plus rows × part scores
 * per call, at any vocabulary size.
 */
import { GraphBuilder, type WeightSink } from '../graph/builder';
import type { Model } from '../model';
import { DataType } from '../onnx/model';
import type { HostTensor } from '../tensor';
import { vocabScores, type LensMode, type Projection, type VocabTop } from './vocab';

/**
 * Bytes of Eᵀ per vocabulary part: 65,536 tokens at d_model 2,048. Measured on the
 * Llama-3.2-1B shape (2 cores), the pre-packed Gemm ran ~4% faster on 65,536-token parts
 * than on 32,768-token ones; while a part's session is created onnxruntime holds the mapped
 * part beside its packed copy, so the transient is twice this.
 */
export const PART_BYTES = 512 << 20;
/** Rows per call: 256 × 65,536 scores (64 MB) per buffer; 512 rows were no faster. */
export const STREAM_ROWS = 256;

const INPUT = 'x';
const K = 'k';
const OUT = { topLogits: 'top.logits', topIds: 'top.ids', bottomLogits: 'bottom.logits', bottomIds: 'bottom.ids', max: 'max', sumExp: 'sumexp' };

/** A range of token ids. */
export interface TokenRange {
  start: number;
  end: number;
}

/** The vocabulary in the fewest parts of at most `partBytes` of Eᵀ, of equal size (to a token). */
export function vocabParts(model: Model, partBytes = PART_BYTES): TokenRange[] {
  const V = model.config.vocabSize;
  const row = 4 * model.config.dModel;
  if (!(partBytes >= row)) throw new Error(`partBytes must be at least one token's row of Eᵀ (${row} bytes), got ${partBytes}`);
  const most = Math.floor(partBytes / row);
  const count = Math.ceil(V / most);
  return Array.from({ length: count }, (_, i) => ({ start: Math.floor((i * V) / count), end: Math.floor(((i + 1) * V) / count) }));
}

function partGraph(model: Model, mode: LensMode, tokens: TokenRange, sink: WeightSink): GraphBuilder {
  const g = new GraphBuilder('ffn-lens:vocab-part', undefined, { sink });
  const x = g.input(INPUT, DataType.FLOAT, ['n', model.config.dModel]);
  const k = g.input(K, DataType.INT64, [1]);
  const { bands, bias } = model.unembedRowRange(tokens.start, tokens.end);
  const rows = g.weightBands('unembed', [tokens.end - tokens.start, model.config.dModel], bands);
  const scores = vocabScores(g, model, x, mode, { rows, bias: bias && g.weight('unembed.bias', bias) });
  const side = (largest: 0 | 1, logits: string, ids: string): string => {
    const [v, i] = g.opMulti('TopK', [scores, k], 2, { axis: -1, largest, sorted: 1 });
    g.hook(logits, v);
    g.hook(ids, g.op('Cast', [i], { to: DataType.FLOAT }));
    return v;
  };
  const top = side(1, OUT.topLogits, OUT.topIds);
  side(0, OUT.bottomLogits, OUT.bottomIds);
  // the row's max is its first top logit: no pass of its own over the scores
  const axis = g.constInt([1]);
  const max = g.op('Slice', [top, g.constInt([0]), g.constInt([1]), axis]);
  g.hook(OUT.sumExp, g.op('ReduceSum', [g.op('Exp', [g.op('Sub', [scores, max])]), axis], { keepdims: 0 }));
  g.hook(OUT.max, g.op('Squeeze', [max, axis]));
  return g;
}

/** Running top-k (or bottom-k) of n rows: logits best first, ties to the lower token id. */
class RunningSide {
  private readonly logits: Float32Array;
  readonly ids: Int32Array;
  private readonly scratchL: Float32Array;
  private readonly scratchI: Int32Array;

  constructor(
    private readonly n: number,
    private readonly k: number,
    private readonly largest: boolean,
  ) {
    this.logits = new Float32Array(n * k).fill(largest ? -Infinity : Infinity);
    this.ids = new Int32Array(n * k).fill(-1);
    this.scratchL = new Float32Array(k);
    this.scratchI = new Int32Array(k);
  }

  /**
   * Merges the sorted kc best per row of rows [row0, row0 + rows) in the part starting at
   * token `offset` (ids local to the part). Parts come in token order, so the running list
   * holds lower ids and wins ties.
   */
  merge(row0: number, rows: number, logits: Float32Array, ids: Float32Array, kc: number, offset: number): void {
    const { k, largest } = this;
    const better = (a: number, b: number) => (largest ? a > b : a < b);
    for (let r = 0; r < rows; r++) {
      const base = (row0 + r) * k;
      let i = 0;
      let j = 0;
      for (let o = 0; o < k; o++) {
        const c = j < kc ? logits[r * kc + j] : NaN;
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

/** Scores a block of rows (row `row0` onward) against the current part; see StreamedProjection.part. */
export type ScoreRows = (x: HostTensor, row0: number) => Promise<void>;

/**
 * Top-k and bottom-k tokens of softmax(x·E) (or of the final-norm lens) for n rows fed
 * in blocks, part after part: equal to VocabProjector.project's up to the last bits of
 * the probabilities, which are computed here from float64 sums. k must not exceed the
 * vocabulary.
 */
export class StreamedProjection {
  private readonly topSide: RunningSide;
  private readonly bottomSide: RunningSide;
  private readonly max: Float64Array;
  private readonly sum: Float64Array;

  constructor(
    private readonly model: Model,
    readonly n: number,
    readonly k: number,
    private readonly mode: LensMode,
  ) {
    const V = model.config.vocabSize;
    if (!(Number.isInteger(k) && k >= 1 && k <= V)) throw new Error(`k must be in 1..${V}, got ${k}`);
    this.topSide = new RunningSide(n, k, true);
    this.bottomSide = new RunningSide(n, k, false);
    this.max = new Float64Array(n).fill(-Infinity);
    this.sum = new Float64Array(n);
  }

  /**
   * Builds the session of one part of the vocabulary and lets `feed` score rows against
   * it (every row exactly once per part, in any blocks); parts must come in token order.
   */
  async part(tokens: TokenRange, feed: (score: ScoreRows) => Promise<void>): Promise<void> {
    const kc = Math.min(this.k, tokens.end - tokens.start);
    const kFeed = BigInt64Array.of(BigInt(kc));
    const outputs = Object.values(OUT);
    await this.model.withConstSession(
      (sink) => partGraph(this.model, this.mode, tokens, sink),
      (session) =>
        feed(async (x, row0) => {
          const rows = x.shape[0];
          if (!(row0 >= 0 && row0 + rows <= this.n)) throw new Error(`rows ${row0}..${row0 + rows} are outside 0..${this.n}`);
          const out = await session.runFeeds({ [INPUT]: x, [K]: kFeed }, outputs);
          this.topSide.merge(row0, rows, out.get(OUT.topLogits)!.data, out.get(OUT.topIds)!.data, kc, tokens.start);
          this.bottomSide.merge(row0, rows, out.get(OUT.bottomLogits)!.data, out.get(OUT.bottomIds)!.data, kc, tokens.start);
          const m = out.get(OUT.max)!.data;
          const s = out.get(OUT.sumExp)!.data;
          for (let r = 0; r < rows; r++) {
            // the running Σexp is kept relative to the running max
            const i = row0 + r;
            if (m[r] > this.max[i]) {
              this.sum[i] = this.sum[i] * Math.exp(this.max[i] - m[r]) + s[r];
              this.max[i] = m[r];
            } else this.sum[i] += s[r] * Math.exp(m[r] - this.max[i]);
          }
        }),
    );
  }

  /** The projection of every row, once every part has scored every row. */
  result(): Projection {
    const lse = this.max.map((m, r) => m + Math.log(this.sum[r]));
    const top = this.topSide.top(lse);
    const maxProb = new Float32Array(this.n);
    for (let r = 0; r < this.n; r++) maxProb[r] = top.probs[r * this.k];
    return { top, bottom: this.bottomSide.top(lse), maxProb };
  }
}
