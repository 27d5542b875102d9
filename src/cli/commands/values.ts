/**
 * `ffn-lens values`: one memory read in embedding space — what its value adds to each
 * token's logit (vᵢ·E, with z-score over the vocabulary, rank and pᵢ) and what its key
 * reads (kᵢ·E).
 */
import { readKey, readValue, type ReadToken, type VectorReading } from '../../core';
import { intOption, parse, UsageError } from '../args';
import { requiredInt } from '../indexArgs';
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';
import { printable, table } from '../table';

export const usage = 'values --model M --layer L --key K [--top N] [--final-norm] [--json]';

const cells = (t: ReadToken | undefined) => (t ? [`"${printable(t.text)}"`, t.score.toFixed(3), t.z.toFixed(1), String(t.rank), t.prob.toExponential(2)] : ['', '', '', '', '']);

function side(title: string, r: VectorReading, lo: string, hi: string): string {
  const rows = r.top.map((t, i) => [String(i + 1), ...cells(t), ...cells(r.bottom[i])]);
  return [title, table(['#', hi, 'score', 'z', 'rank', 'p', lo, 'score', 'z', 'rank', 'p'], rows)].join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, {
    ...modelOptions,
    layer: { type: 'string', short: 'l' },
    key: { type: 'string', short: 'k' },
    top: { type: 'string', short: 'n' },
    'final-norm': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const layer = requiredInt(values, 'layer');
  const key = requiredInt(values, 'key');
  const top = intOption(values, 'top', 10);
  const finalNorm = Boolean(values['final-norm']);
  const model = await loadFromArgs(values, io);
  try {
    if (layer >= model.config.nLayers) throw new UsageError(`--layer ${layer} is outside 0..${model.config.nLayers - 1}`);
    if (key >= model.config.dFf) throw new UsageError(`--key ${key} is outside 0..${model.config.dFf - 1}`);
    const k = Math.min(top, model.config.vocabSize);
    const value = readValue(model, layer, key, k, { finalNorm });
    const keyReads = readKey(model, layer, key, k);
    if (values.json) {
      io.out(JSON.stringify({ model: model.info.name, layer, key, finalNorm, top: value.top, bottom: value.bottom, valueStats: { mean: value.mean, std: value.std }, keyReads }) + '\n');
      return;
    }
    const lens = finalNorm ? 'norm(v)·E through the final norm' : 'v·E, no final norm';
    const out = [
      side(`layer ${layer}, key ${key} — value, ${lens}; z over the vocabulary, p = softmax`, value, 'suppresses', 'promotes'),
      '',
      side('key, k·E over the input embeddings (the token content it reads)', keyReads, 'lowest', 'highest'),
    ];
    // gated FFNs: act(gate)·up is negative about half the time, and −|m|·v promotes the other end
    if (model.config.gated) out.splice(1, 0, 'gated FFN: where this memory\'s coefficient is negative it adds −|m|·v, promoting the "suppresses" column and suppressing "promotes".');
    io.out(out.join('\n') + '\n');
  } finally {
    await model.dispose();
  }
}
