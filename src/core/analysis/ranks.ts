/**
 * The rank of a given token in softmax(x·E) for each row x: 1 + the number of tokens
 * scored strictly higher. Softmax is monotonic, so logits suffice and nothing of size
 * [n, vocab] leaves onnxruntime. The agreement statistic needs the rank of a trigger's
 * next token in pᵢ wherever it falls, far outside any top-k the value table keeps.
 * Ranked from the bottom (1 + the number scored strictly lower), it is the rank among what
 * −x promotes: a gated memory with m < 0 adds −|m|·v.
 */
import { GraphBuilder } from '../graph/builder';
import type { Model } from '../model';
import { DataType } from '../onnx/model';
import type { ModelSession } from '../runtime/session';
import type { HostTensor } from '../tensor';
import { inRowChunks, unembedFeed, vocabScores, type LensMode } from './vocab';

const INPUT = 'x';
const TARGET = 'target';
const ABOVE = 'above';

/** Which end of the vocabulary scores rank 1: the highest (as in pᵢ) or the lowest. */
export type RankFrom = 'top' | 'bottom';

/** One graph per mode and end: onnxruntime runs every node of a graph whatever is fetched. */
function rankGraph(model: Model, mode: LensMode, from: RankFrom): GraphBuilder {
  const g = new GraphBuilder('ffn-lens:ranks');
  const x = g.input(INPUT, DataType.FLOAT, ['n', model.config.dModel]);
  const target = g.input(TARGET, DataType.INT64, ['n']);
  const column = g.op('Unsqueeze', [target, g.constInt([1])]);
  const scores = vocabScores(g, model, x, mode);
  const own = g.op('GatherElements', [scores, column], { axis: 1 });
  const above = g.op('Cast', [g.op(from === 'top' ? 'Greater' : 'Less', [scores, own])], { to: DataType.FLOAT });
  g.hook(ABOVE, g.op('ReduceSum', [above, g.constInt([1])], { keepdims: 0 }));
  return g;
}

/** The model owns the session (and releases it with itself). */
const sessionFor = (model: Model, mode: LensMode, from: RankFrom): Promise<ModelSession> => model.analysisSession(from === 'top' ? `ranks-${mode}` : `ranks-${mode}-bottom`, () => rankGraph(model, mode, from));

/**
 * 1-based rank of targets[i] among the vocabulary scores of row i of `x` ([n, d]);
 * `finalNorm` ranks under the final-norm lens instead of the raw projection; `from`
 * 'bottom' ranks from the lowest score (default 'top').
 */
export async function tokenRanks(model: Model, x: HostTensor, targets: ArrayLike<number>, opts: { finalNorm?: boolean; from?: RankFrom } = {}): Promise<Int32Array> {
  const n = x.shape[0];
  if (targets.length !== n) throw new Error(`tokenRanks: ${n} rows but ${targets.length} targets`);
  if (n === 0) return new Int32Array(0);
  const session = await sessionFor(model, opts.finalNorm ? 'normed' : 'raw', opts.from ?? 'top');
  const d = x.shape[1];
  const ranks = new Int32Array(n);
  await inRowChunks(model, n, async (start, end) => {
    const rows = { data: x.data.subarray(start * d, end * d), shape: [end - start, d] };
    const target = BigInt64Array.from(Array.from({ length: end - start }, (_, i) => BigInt(targets[start + i])));
    const out = await session.runFeeds({ ...unembedFeed(model), [INPUT]: rows, [TARGET]: target }, [ABOVE]);
    // counts are exact in fp32 below 2^24, far above any vocabulary
    out.get(ABOVE)!.data.forEach((c, i) => (ranks[start + i] = c + 1));
  });
  return ranks;
}
