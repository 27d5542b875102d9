/** `ffn-lens report`: the paper's statistics for a model and index, as HTML and/or JSON. */
import { indexedCorpus, openTriggerIndex, paperStatistics, recordedTextField, renderReport, writeFileAtomic, type PaperStatistics } from '../../core';
import { intOption, numberOption, parse, textFieldArg, textFieldOption, UsageError } from '../args';

/** Sampled positions are run through the model; a billion would only exhaust memory. */
const MAX_POSITIONS = 1_000_000;
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';
import { stageReporter } from '../stages';
import { table } from '../table';

export const usage = 'report --model M --index DIR [--corpus FILE|DIR…] [--text-field F] [--out report.html] [--json] [--positions N] [--threshold X] [--max-memories N] [--final-norm] [--no-patterns] [--no-ablation] [--ablation-keys N] [--seed S]';

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '–');

/** A rate with its 95% interval, as "1.2% [0.7–2.0]". */
const withCi = (v: number, ci: readonly [number, number]) => (Number.isFinite(ci[0]) ? `${pct(v)} [${(100 * ci[0]).toFixed(1)}–${(100 * ci[1]).toFixed(1)}]` : pct(v));

/** A terminal summary when neither --out nor --json asks for the full result. */
function summary(s: PaperStatistics): string {
  const p = s.positions;
  const negative = s.agreement.negative;
  const rows = s.agreement.layers.map((a, l) => {
    const pat = s.patterns?.[l];
    const abl = s.ablation?.layers[l];
    return [
      String(l),
      withCi(a.rate, a.ci95),
      ...(negative ? [withCi(negative[l].rate, negative[l].ci95)] : []),
      pat ? `${withCi(pat.covered, pat.ci95)} vs ${pat.randomPositions ? pct(pat.randomPositions.covered) : '–'}` : '–',
      abl ? `${pct(abl.first.mean)} / ${pct(abl.last.mean)} / ${pct(abl.random.mean)}` : '–',
      withCi(p.activity[l].meanShare, p.activity[l].ci95),
      withCi(p.composition[l].rate, p.composition[l].ci95),
      withCi(p.residual[l].residualIsFinal, p.residual[l].ci95),
    ];
  });
  return [
    `${s.model.name} on ${s.corpus.files.join(', ')}: ${p.positions} positions in ${p.windows} windows; [95% intervals]`,
    table(['layer', 'agreement', ...(negative ? ['agreement m < 0 (bottom token)'] : []), 'patterns vs null', 'ablation first / last / random', 'active', 'composition', 'resid = final'], rows),
    ...(s.signed.gated ? ['Signed memories (gated FFN):', ...s.signed.counting.map((c) => `  - ${c}`)] : []),
    '(--out FILE.html for the report with charts, --json for every number)',
  ].join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values, positionals } = parse(argv, {
    ...modelOptions,
    index: { type: 'string', short: 'i' },
    corpus: { type: 'string', short: 'c', multiple: true },
    ...textFieldOption,
    out: { type: 'string', short: 'o' },
    json: { type: 'boolean' },
    positions: { type: 'string' },
    threshold: { type: 'string' },
    'max-memories': { type: 'string' },
    'final-norm': { type: 'boolean' },
    'no-patterns': { type: 'boolean' },
    'no-ablation': { type: 'boolean' },
    'ablation-keys': { type: 'string' },
    seed: { type: 'string' },
  });
  if (!values.index) throw new UsageError('--index DIR is required (build one with `ffn-lens index`)');
  const threshold = numberOption(values, 'threshold', 0);
  const positions = intOption(values, 'positions', 1000, 1, MAX_POSITIONS);
  const seed = intOption(values, 'seed', 1, 0, 2 ** 32 - 1);
  const textField = textFieldArg(values);
  const maxMemories = values['max-memories'] === undefined ? undefined : intOption(values, 'max-memories', 1, 1, 2 ** 31 - 1);

  const model = await loadFromArgs(values, io);
  try {
    const index = openTriggerIndex(values.index as string, model);
    // the corpus defaults to the files the index was built from, if they are still those files
    const given = [...((values.corpus as string[] | undefined) ?? []), ...positionals];
    const corpus = given.length ? given : await indexedCorpus(index.info.corpus);
    const stats = await paperStatistics(model, index, {
      corpus,
      // the field the index read its text from, unless told otherwise
      textField: textField ?? recordedTextField(index.info.corpus),
      window: index.info.settings.window,
      positions,
      seed,
      threshold,
      maxMemories,
      finalNorm: Boolean(values['final-norm']),
      patterns: !values['no-patterns'],
      ablation: values['no-ablation'] ? false : { keys: intOption(values, 'ablation-keys', 24) },
      cacheDir: values.cache as string | undefined,
      onProgress: stageReporter(io, Boolean(values.quiet)),
    });
    if (values.out) {
      writeFileAtomic(values.out as string, [renderReport(stats)]);
      io.err(`wrote ${String(values.out)}\n`);
    }
    if (values.json) io.out(JSON.stringify(stats) + '\n');
    if (!values.out && !values.json) io.out(summary(stats) + '\n');
  } finally {
    await model.dispose();
  }
}
