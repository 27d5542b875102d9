/** `ffn-lens values`: one memory's value vector read as tokens (top and bottom of pᵢ). */
import { decodeValue, type DecodedValue } from '../../core';
import { intOption, parse, UsageError } from '../args';
import { requiredInt } from '../indexArgs';
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';
import { printable, table } from '../table';

export const usage = 'values --model M --layer L --key K [--top N] [--final-norm] [--json]';

function human(v: DecodedValue, finalNorm: boolean): string {
  const rows = v.top.map((t, i) => {
    const b = v.bottom[i];
    return [String(i + 1), `"${printable(t.text)}"`, t.prob.toExponential(3), b ? `"${printable(b.text)}"` : '', b ? b.prob.toExponential(3) : ''];
  });
  const lens = finalNorm ? 'softmax(norm(v)·E)' : 'softmax(v·E), no final norm';
  return [`layer ${v.layer}, key ${v.key}: ${lens}`, table(['#', 'promotes', 'p', 'suppresses', 'p'], rows)].join('\n');
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
    const decoded = await decodeValue(model, layer, key, Math.min(top, model.config.vocabSize), { finalNorm });
    io.out((values.json ? JSON.stringify({ model: model.info.name, finalNorm, ...decoded }) : human(decoded, finalNorm)) + '\n');
  } finally {
    await model.dispose();
  }
}
