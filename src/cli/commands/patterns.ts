/** `ffn-lens patterns`: automatic pattern labels of a key's (or a whole layer's) triggers, with human labels beside them. */
import { keyPatterns, layerPatterns, type KeyPatterns, type LayerPatterns } from '../../core';
import { labelsFor, readLabels, type KeyLabel } from '../../core/analysis/labels';
import { intOption, parse } from '../args';
import { indexOptions, openIndexWithModel, requiredInt } from '../indexArgs';
import { processIo, type Io } from '../io';
import { modelOptions } from '../load';
import { stageReporter } from '../stages';
import { table } from '../table';

export const usage = 'patterns --index DIR --layer L [--key K] [--labels FILE] [--limit N] [--json] [--model M]';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function keyText(k: KeyPatterns, labels: KeyLabel[]): string {
  const out = [`layer ${k.layer} · key ${k.key}: ${k.patterns.length} patterns cover ${k.covered} of ${k.triggers} triggers (shallow ${k.coveredShallow}, semantic ${k.coveredSemantic})`];
  if (k.patterns.length) out.push(table(['kind', 'pattern', 'covers', 'triggers (#)'], k.patterns.map((p) => [p.kind, p.label, `${p.covers.length}/${k.triggers}`, p.covers.map((i) => i + 1).join(' ')])));
  else out.push('no pattern covers 3 or more of the top triggers');
  if (labels.length) out.push('human labels:', ...labels.map((l) => `  ${l.kind.padEnd(8)}  ${l.text}`));
  return out.join('\n');
}

function layerText(s: LayerPatterns, keys: KeyPatterns[], labels: KeyLabel[], limit: number): string {
  const out = [
    `layer ${s.layer}: ${s.keys} keys with triggers, ${s.patternsPerKey.toFixed(2)} patterns per key, ${pct(s.keysWithPattern)} of keys have one`,
    `triggers covered by a pattern: ${pct(s.covered)} (shallow ${pct(s.coveredShallow)}, semantic ${pct(s.coveredSemantic)}); patterns: ${pct(s.shallowShare)} shallow, ${pct(s.semanticShare)} semantic`,
    '',
  ];
  const best = [...keys].sort((a, b) => b.covered / Math.max(1, b.triggers) - a.covered / Math.max(1, a.triggers) || a.key - b.key).slice(0, limit);
  out.push(`best-covered ${best.length} keys:`);
  out.push(
    table(
      ['key', 'patterns', 'covered', 'strongest pattern', 'human labels'],
      best.map((k) => [String(k.key), String(k.patterns.length), `${k.covered}/${k.triggers}`, k.patterns[0] ? k.patterns[0].label : '', labelsFor(labels, k.layer, k.key).map((l) => `${l.text} (${l.kind})`).join('; ')]),
    ),
  );
  return out.join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, { ...modelOptions, ...indexOptions, labels: { type: 'string' }, limit: { type: 'string' } });
  const layer = requiredInt(values, 'layer');
  const key = values.key === undefined ? undefined : requiredInt(values, 'key');
  const limit = intOption(values, 'limit', 20);
  const { index, model } = await openIndexWithModel(values, io);
  try {
    const labels = values.labels ? readLabels(values.labels as string, model.info.hash) : [];
    if (key !== undefined) {
      const k = await keyPatterns(model, index, layer, key);
      const mine = labelsFor(labels, layer, key);
      io.out((values.json ? JSON.stringify({ model: model.info.name, ...k, labels: mine }) : keyText(k, mine)) + '\n');
      return;
    }
    const progress = stageReporter(io, Boolean(values.quiet));
    const { summary, keys } = await layerPatterns(model, index, layer, { onProgress: (f) => progress(`finding patterns in layer ${layer}`, f) });
    const layerLabels = labels.filter((l) => l.layer === layer);
    io.out((values.json ? JSON.stringify({ model: model.info.name, summary, keys, labels: layerLabels }) : layerText(summary, keys, layerLabels, limit)) + '\n');
  } finally {
    await model.dispose();
  }
}
