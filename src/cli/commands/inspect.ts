/** `ffn-lens inspect`: tokens, top memories per layer and position, next-token predictions. */
import { inspect, type InspectResult } from '../../core';
import { inputText, intOption, numberOption, parse, textOptions } from '../args';
import { loadFromArgs, modelOptions } from '../load';
import { processIo, type Io } from '../io';
import { printable, table } from '../table';

export const usage = 'inspect --model M (--text T | --file F) [--top K] [--threshold X] [--json]';

function human(r: InspectResult): string {
  const m = r.model;
  const out = [`${m.name}: ${m.family}, ${m.nLayers} layers × ${m.dFf} memories, ${r.tokens.length} tokens`, ''];
  out.push(
    table(
      ['pos', 'token', 'chars', 'next-token predictions'],
      r.tokens.map((t, i) => [String(i), `"${printable(t.text)}"`, `${t.start}-${t.end}`, r.predictions[i].map((p) => `"${printable(p.text)}" ${p.prob.toFixed(3)}`).join('  ')]),
    ),
  );
  for (const { layer, positions } of r.layers) {
    out.push('', `layer ${layer}: top memories (key:coefficient)`);
    out.push(
      table(
        ['pos', 'token', 'active', 'memories'],
        positions.map((p, i) => [String(i), `"${printable(r.tokens[i].text)}"`, String(p.active), p.top.map((h) => `${h.key}:${h.coeff.toFixed(2)}`).join(' ')]),
      ),
    );
  }
  return out.join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, {
    ...modelOptions,
    ...textOptions,
    top: { type: 'string', short: 'k' },
    threshold: { type: 'string' },
    json: { type: 'boolean' },
  });
  const text = inputText(values);
  const topK = intOption(values, 'top', 10);
  const threshold = numberOption(values, 'threshold', 0);
  const model = await loadFromArgs(values, io);
  try {
    const result = await inspect(model, text, { topK, threshold });
    io.out((values.json ? JSON.stringify(result) : human(result)) + '\n');
  } finally {
    await model.dispose();
  }
}
