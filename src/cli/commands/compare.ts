/** `ffn-lens compare`: a minimal pair — the memories that differ most per layer, and both predictions. */
import { compareTexts, type CompareResult } from '../../core';
import { intOption, parse, UsageError } from '../args';
import { loadFromArgs, modelOptions } from '../load';
import { processIo, type Io } from '../io';
import { printable, table } from '../table';

export const usage = 'compare --model M --text A --text B [--top K] [--final-norm] [--json]';

function human(r: CompareResult): string {
  const m = r.model;
  const q = (s: string) => `"${printable(s)}"`;
  const out = [
    `${m.name}: ${m.family}, ${m.nLayers} layers × ${m.dFf} memories`,
    `A: ${r.a.tokens.length} tokens · B: ${r.b.tokens.length} tokens · positions paired ${r.alignment === 'token' ? 'token by token' : 'from the end'} (${r.pairs.length})`,
    '',
    'next-token predictions',
    table(
      ['#', 'A', 'p', 'B', 'p'],
      Array.from({ length: Math.max(r.a.predictions.length, r.b.predictions.length) }, (_, i) => {
        const a = r.a.predictions[i];
        const b = r.b.predictions[i];
        return [String(i + 1), a ? q(a.text) : '', a ? a.prob.toFixed(3) : '', b ? q(b.text) : '', b ? b.prob.toFixed(3) : ''];
      }),
    ),
  ];
  for (const { layer, memories } of r.layers) {
    out.push('', `layer ${layer}: memories that differ most`);
    out.push(
      table(
        ['memory', 'coeff A', 'coeff B', 'Δ', 'at A / B', 'value tokens'],
        memories.map((d) => [
          `L${d.layer}:${d.key}`,
          d.coeffA.toFixed(3),
          d.coeffB.toFixed(3),
          `${d.delta >= 0 ? '+' : ''}${d.delta.toFixed(3)}`,
          `${q(r.a.tokens[d.positionA].text)} / ${q(r.b.tokens[d.positionB].text)}`,
          d.value.map((v) => q(v.text)).join(' '),
        ]),
      ),
    );
  }
  return out.join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, {
    ...modelOptions,
    text: { type: 'string', short: 't', multiple: true },
    top: { type: 'string', short: 'k' },
    'final-norm': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const texts = (values.text as string[] | undefined) ?? [];
  if (texts.length !== 2) throw new UsageError(`give --text twice (A and B), got ${texts.length}`);
  const memories = intOption(values, 'top', 8);
  const model = await loadFromArgs(values, io);
  try {
    const result = await compareTexts(model, texts[0], texts[1], { memories, finalNorm: Boolean(values['final-norm']) });
    io.out((values.json ? JSON.stringify(result) : human(result)) + '\n');
  } finally {
    await model.dispose();
  }
}
