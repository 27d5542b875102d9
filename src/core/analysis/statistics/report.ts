/**
 * The statistics report: one self-contained HTML page (inline CSS, inline SVG, no
 * script, no remote asset) with a chart and a table per statistic, the paper's figures
 * beside ours, and the same numbers as JSON at the end. It renders a PaperStatistics
 * value and computes nothing, so the JSON and the page always agree.
 */
import { barChart, escapeHtml, type Series } from './reportSvg';
import type { Interval } from './intervals';
import type { PaperStatistics } from './paper';

const pct = (v: number) => (Number.isFinite(v) ? `${(100 * v).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 2 : 1)}%` : '–');
const fixed = (digits: number) => (v: number) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const sci = (v: number) => (Number.isFinite(v) ? v.toExponential(2) : '–');
/** A 95% interval as "lo–hi" in the figure's own format. */
const ci = (format: (v: number) => string) => (i: Interval) => (Number.isFinite(i[0]) ? `${format(i[0])}–${format(i[1])}` : '–');
const pctCi = ci(pct);
const layerNames = (n: number) => Array.from({ length: n }, (_, l) => `L${l}`);

function table(header: string[], rows: (string | number)[][]): string {
  const cell = (c: string | number) => `<td>${escapeHtml(String(c))}</td>`;
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

function section(id: string, title: string, explain: string, paper: string, body: string): string {
  return `<section id="${id}"><h2>${escapeHtml(title)}</h2><p>${escapeHtml(explain)}</p><p class="paper">Paper: ${escapeHtml(paper)}</p>${body}</section>`;
}

function agreement(s: PaperStatistics): string {
  const a = s.agreement;
  const L = a.layers.length;
  const rates = barChart({
    title: 'Agreement by layer',
    categories: layerNames(L),
    series: [
      { name: 'value top = next token (whiskers: 95% Wilson interval)', values: a.layers.map((l) => l.rate), intervals: a.layers.map((l) => l.ci95) },
      { name: 'shuffled next tokens', values: a.layers.map((l) => l.shuffledRate) },
    ],
    lines: [{ value: a.baseline.rate, label: 'random 1/V' }],
    format: pct,
    xLabel: 'layer',
  });
  const ranks = barChart({
    title: 'Mean rank of the next token in pᵢ',
    categories: layerNames(L),
    series: [
      { name: 'mean rank', values: a.layers.map((l) => l.meanRank) },
      { name: 'median rank', values: a.layers.map((l) => l.medianRank) },
    ],
    lines: [{ value: a.baseline.meanRank, label: 'random (V+1)/2' }],
    format: fixed(0),
    xLabel: 'layer',
  });
  const rows = a.layers.map((l) => [l.layer, l.keys, l.skipped, l.agreed, pct(l.rate), pctCi(l.ci95), pct(l.shuffledRate), fixed(0)(l.meanRank), fixed(0)(l.medianRank)]);
  return section(
    'agreement',
    '1. Agreement: values predict the next token of their top trigger',
    `Share of keys whose value's top token (pᵢ = softmax(vᵢ·E)${a.finalNorm ? ', through the final norm' : ', no final norm'}) equals the next token of the key's top-1 trigger example; and that token's rank in pᵢ. Keys whose top trigger ends its paragraph are skipped. Random baselines: ${sci(a.baseline.rate)} agreement, mean rank ${fixed(0)(a.baseline.meanRank)}.`,
    'agreement ≈ 0 in the lower layers, rising to ≈ 3.5% in the top layers; the rank of the next token drops in the upper layers.',
    rates + ranks + table(['layer', 'keys', 'skipped', 'agree', 'rate', '95% interval', 'shuffled', 'mean rank', 'median rank'], rows),
  );
}

function calibration(s: PaperStatistics): string {
  const bins = s.agreement.calibration;
  const chart = barChart({
    title: 'Agreement by max pᵢ',
    categories: bins.map((_, i) => `q${i + 1}`),
    series: [{ name: 'agreement rate (whiskers: 95% Wilson interval)', values: bins.map((b) => b.rate), intervals: bins.map((b) => b.ci95) }],
    format: pct,
    xLabel: 'bins of max pᵢ (equal numbers of keys, low → high)',
  });
  const byLayer = s.agreement.calibrationByLayer;
  const nBins = Math.max(0, ...byLayer.map((b) => b.length));
  const perLayer = table(
    ['layer', ...Array.from({ length: nBins }, (_, i) => `q${i + 1}`)],
    byLayer.map((bs, l) => [l, ...Array.from({ length: nBins }, (_, i) => (bs[i] ? `${pct(bs[i].rate)} (${pctCi(bs[i].ci95)})` : '–'))]),
  );
  return section(
    'calibration',
    '2. Calibration: agreement against the value’s confidence',
    'Keys of all layers pooled and cut into bins holding equal numbers of keys by max pᵢ; the agreement rate in each bin. Since layers differ in both agreement and max pᵢ, a pooled trend can be a layer effect: the second table bins each layer on its own (rate and 95% interval).',
    'agreement grows with max pᵢ: confident values agree more often.',
    chart + table(['bin', 'max pᵢ from', 'to', 'keys', 'agree', 'rate', '95% interval'], bins.map((b, i) => [`q${i + 1}`, sci(b.lo), sci(b.hi), b.keys, b.agreed, pct(b.rate), pctCi(b.ci95)])) + perLayer,
  );
}

function patterns(s: PaperStatistics): string {
  const p = s.patterns;
  if (!p) return '';
  const chart = barChart({
    title: 'Triggers covered by a prefix pattern, against random positions',
    categories: layerNames(p.length),
    series: [
      { name: 'top triggers (whiskers: 95% interval)', values: p.map((x) => x.covered), intervals: p.map((x) => x.ci95) },
      { name: 'null: 25 random positions', values: p.map((x) => x.randomPositions?.covered ?? null), intervals: p.map((x) => x.randomPositions?.ci95 ?? null) },
      { name: 'by a shallow pattern', values: p.map((x) => x.coveredShallow) },
      { name: 'output hints (not counted)', values: p.map((x) => x.coveredOutput) },
    ],
    lines: [
      { value: 0.65, label: 'paper 65%' },
      { value: 0.8, label: 'paper 80%' },
    ],
    yMax: 1,
    format: pct,
    xLabel: 'layer',
  });
  const types = Object.keys(p[0]?.coveredByType ?? {}) as (keyof (typeof p)[0]['coveredByType'])[];
  const byType = table(
    ['layer', ...types.map((t) => `${t} (null)`)],
    p.map((x) => [x.layer, ...types.map((t) => `${pct(x.coveredByType[t])} (${x.randomPositions ? pct(x.randomPositions.coveredByType[t]) : '–'})`)]),
  );
  return section(
    'patterns',
    'Patterns: what the keys’ triggers share',
    'Share of each layer’s top triggers covered by at least one automatic prefix pattern covering ≥ 3 of a key’s top 25: shallow ones (same trigger token, final n-gram, a shared recent token) and the semantic hint (a topic word recurring across paragraphs); stopwords and punctuation make no pattern. Output hints (a shared next token, the value agreeing with the next tokens) describe what follows the prefix, so they are shown apart and not counted. The null runs the same detectors on pseudo-keys of 25 random corpus positions: coverage near the null says more about the corpus than about the keys. Automatic hints, where the paper had human experts.',
    '65%–80% of a key’s top triggers are covered by at least one pattern; shallow patterns dominate the lower layers, semantic ones the upper layers.',
    chart +
      table(
        ['layer', 'keys', 'patterns / key', 'keys with one', 'covered', '95% interval', 'null', 'shallow', 'semantic', 'output hints'],
        p.map((x) => [x.layer, x.keys, fixed(2)(x.patternsPerKey), pct(x.keysWithPattern), pct(x.covered), pctCi(x.ci95), x.randomPositions ? `${pct(x.randomPositions.covered)} (${pctCi(x.randomPositions.ci95)})` : '–', pct(x.coveredShallow), pct(x.coveredSemantic), pct(x.coveredOutput)]),
      ) +
      '<p>Coverage by detector, top triggers (null in brackets):</p>' +
      byType,
  );
}

function ablation(s: PaperStatistics): string {
  const a = s.ablation;
  if (!a) return '';
  const kinds = ['first', 'last', 'random'] as const;
  const drop = (v: number) => -v;
  const chart = barChart({
    title: 'Coefficient drop when a prefix token is removed',
    categories: layerNames(a.layers.length),
    series: kinds.map((k) => ({
      name: `${k} token removed`,
      values: a.layers.map((l) => drop(l[k].mean)),
      intervals: a.layers.map((l) => [drop(l[k].ci95[1]), drop(l[k].ci95[0])] as Interval),
    })),
    format: pct,
    xLabel: 'layer (whiskers: 95% bootstrap interval over keys)',
  });
  return section(
    'ablation',
    'Prefix ablation: which part of the prefix a key reads',
    `For ${a.keysPerLayer} random keys per layer, each of their top ${a.triggersPerKey} trigger prefixes is run again without its first token, its last token or a random inner token; the change of the key’s coefficient at the new last position is summed over the layer’s examples and divided by the sum of their indexed coefficients (|c|), so a few keys with coefficients near 0 cannot dominate.`,
    'removing the last token changes lower layers’ coefficients most (they key on the final token); removing the first token matters relatively more in upper layers.',
    chart +
      table(
        ['layer', 'keys', 'examples', 'first removed', '95% interval', 'last removed', '95% interval', 'random removed', '95% interval'],
        a.layers.map((l) => [l.layer, l.keys, l.examples, ...kinds.flatMap((k) => [pct(l[k].mean), pctCi(l[k].ci95)])]),
      ),
  );
}

/** Gated FFNs only: how signed memories were counted, and the negative side's agreement. */
function signed(s: PaperStatistics): string {
  const g = s.signed;
  if (!g.gated) return '';
  const neg = s.agreement.negative;
  const body = neg
    ? barChart({
        title: 'Negative triggers: value bottom token = next token',
        categories: layerNames(neg.length),
        series: [
          { name: 'most negative trigger (whiskers: 95% Wilson interval)', values: neg.map((l) => l.rate), intervals: neg.map((l) => l.ci95) },
          { name: 'shuffled next tokens', values: neg.map((l) => l.shuffledRate) },
          { name: 'positive side (section 1)', values: s.agreement.layers.map((l) => l.rate) },
        ],
        lines: [{ value: s.agreement.baseline.rate, label: 'random 1/V' }],
        format: pct,
        xLabel: 'layer',
      }) +
      table(
        ['layer', 'keys', 'skipped', 'agree', 'rate', '95% interval', 'shuffled', 'mean rank from the bottom', 'median rank'],
        neg.map((l) => [l.layer, l.keys, l.skipped, l.agreed, pct(l.rate), pctCi(l.ci95), pct(l.shuffledRate), fixed(0)(l.meanRank), fixed(0)(l.medianRank)]),
      )
    : '<p>This trigger index has no negative side, so the negative triggers’ agreement is not measured.</p>';
  return section(
    'signed',
    'Signed memories: gated FFN coefficients below zero',
    `This model’s FFN is gated: m = act(gate)·up is negative about half the time, and a memory with m < 0 adds −|m|·v, promoting its value’s bottom tokens. How the statistics count them:`,
    'the paper’s model (ReLU) had no negative coefficients; this section has no counterpart there.',
    `<ul>${g.counting.map((c) => `<li>${escapeHtml(c)}</li>`).join('')}</ul>` + body,
  );
}

function activity(s: PaperStatistics): string {
  const p = s.positions;
  const chart = barChart({
    title: 'Active memories',
    categories: layerNames(p.activity.length),
    series: [{ name: 'mean share active (whiskers: 10th–90th percentile)', values: p.activity.map((a) => a.meanShare) }],
    whiskers: p.activity.map((a) => [a.p10, a.p90]),
    format: pct,
    xLabel: 'layer',
  });
  return section(
    'active',
    '3. Active memories per layer',
    `Share of a layer's memories whose ${s.signed.gated ? '|coefficient| (gated FFN: m < 0 counts too)' : 'coefficient'} exceeds ${p.threshold}, over ${p.positions} positions drawn uniformly from the corpus (${p.windows} windows); intervals are a bootstrap over windows.`,
    'typically 10%–50% of the memories are active at a position.',
    chart + table(['layer', 'mean share', '95% interval', 'p10', 'median', 'p90', 'mean count'], p.activity.map((a) => [a.layer, pct(a.meanShare), pctCi(a.ci95), pct(a.p10), pct(a.p50), pct(a.p90), fixed(1)(a.meanCount)])),
  );
}

function composition(s: PaperStatistics): string {
  const c = s.positions.composition;
  const series: Series[] = [{ name: 'differs from every active memory (whiskers: 95% interval)', values: c.map((x) => x.rate), intervals: c.map((x) => x.ci95) }];
  if (c.some((x) => x.rateRawValues !== null)) series.push({ name: 'same, memories read as raw pᵢ', values: c.map((x) => x.rateRawValues) });
  series.push({ name: 'strongest memory agrees', values: c.map((x) => x.strongestAgrees) });
  const chart = barChart({ title: 'Composition', categories: layerNames(c.length), series, lines: [{ value: 0.68, label: 'paper ≥ 68%' }], yMax: 1, format: pct, xLabel: 'layer' });
  const memories = s.positions.maxMemories === null ? 'the active memories' : `the ${s.positions.maxMemories} strongest active memories`;
  return section(
    'composition',
    '4. Composition: the FFN output is rarely one memory’s prediction',
    `Share of positions where the top token of the FFN output (logit lens through the final norm) is the top token of none of ${memories} (each read through the final norm too, which makes it the top token of that memory's own contribution${s.signed.gated ? ': for m < 0 its value’s bottom token' : ''}). Positions with no active memory are left out.`,
    'in at least 68% of the examples the FFN output’s top prediction differs from the top prediction of every active memory.',
    chart +
      table(
        ['layer', 'positions', 'no active', 'differs', 'rate', '95% interval', 'rate (raw pᵢ)', 'strongest agrees'],
        c.map((x) => [x.layer, x.positions, x.noActive, x.differs, pct(x.rate), pctCi(x.ci95), x.rateRawValues === null ? '–' : pct(x.rateRawValues), pct(x.strongestAgrees)]),
      ),
  );
}

function residual(s: PaperStatistics): string {
  const r = s.positions.residual;
  const cats = layerNames(r.length);
  const final = barChart({ title: 'Residual already predicts the output', categories: cats, series: [{ name: 'residual top = final prediction (whiskers: 95% interval)', values: r.map((x) => x.residualIsFinal), intervals: r.map((x) => x.ci95) }], yMax: 1, format: pct, xLabel: 'layer' });
  const outcomes = barChart({
    title: 'What the layer output keeps',
    categories: cats,
    series: [
      { name: 'agree (residual = FFN)', values: r.map((x) => x.outcomes.agree) },
      { name: 'residual’s token', values: r.map((x) => x.outcomes.residual) },
      { name: 'FFN’s token', values: r.map((x) => x.outcomes.ffn) },
      { name: 'a third token', values: r.map((x) => x.outcomes.neither) },
    ],
    stacked: true,
    yMax: 1,
    format: pct,
    xLabel: 'layer',
  });
  return section(
    'residual',
    '5. Residual vs FFN',
    'Per layer: how often the residual’s top token before the FFN (through the final norm and E) is already the model’s final prediction; and whether the layer’s output keeps the residual’s top token, takes the FFN output’s, or becomes a third token.',
    'the residual’s prediction is often already the final one, increasingly so in upper layers; the output mostly keeps the residual’s token or a compromise, and rarely the FFN’s alone.',
    final +
      outcomes +
      table(
        ['layer', 'positions', 'residual = final', '95% interval', 'agree', 'residual', 'FFN', 'FFN 95% interval', 'third'],
        r.map((x) => [x.layer, x.positions, pct(x.residualIsFinal), pctCi(x.ci95), pct(x.outcomes.agree), pct(x.outcomes.residual), pct(x.outcomes.ffn), pctCi(x.outcomesCi95.ffn), pct(x.outcomes.neither)]),
      ),
  );
}

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:860px;padding:0 1rem;color:#1f2328;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
.paper{color:#57606a;font-style:italic}
table{border-collapse:collapse;margin:.6rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:.2rem .5rem;text-align:right}th{background:#f6f8fa}
.chart{width:100%;height:auto;margin:.4rem 0}
.grid{stroke:#eaeef2}.tick,.legend,.axis,.reflabel{font-size:11px;fill:#57606a}
.ref{stroke:#cf222e;stroke-dasharray:4 3}.reflabel{fill:#cf222e}.whisker{stroke:#1f2328;stroke-width:1.5}
.s0{fill:#0969da}.s1{fill:#bf8700}.s2{fill:#1a7f37}.s3{fill:#8250df}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;font-size:12px}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}th{background:#161b22}th,td{border-color:#30363d}pre{background:#161b22}.grid{stroke:#21262d}}
`;

export function renderReport(s: PaperStatistics): string {
  const m = s.model;
  const head = `<h1>FFN Lens: ${escapeHtml(m.name)} as key–value memories</h1>
<p>Statistics of Geva et al. (2021), “Transformer Feed-Forward Layers Are Key-Value Memories”, reproduced on <b>${escapeHtml(m.name)}</b> (${m.nLayers} layers × ${m.dFf} memories, vocabulary ${m.vocabSize}, hash ${escapeHtml(m.hash)}) with the corpus ${escapeHtml(s.corpus.files.join(', '))}: ${s.corpus.paragraphs} paragraphs, ${s.corpus.windows} windows of ≤ ${s.corpus.window} tokens, ${s.positions.positions} positions drawn uniformly from the corpus (seed ${s.corpus.seed}). Every rate carries a 95% interval: Wilson for counts of keys, a bootstrap over windows for shares of positions, over keys for pattern coverage and prefix ablation.</p>
<nav><a href="#agreement">agreement</a> · <a href="#calibration">calibration</a> · ${s.patterns ? '<a href="#patterns">patterns</a> · ' : ''}${s.ablation ? '<a href="#ablation">prefix ablation</a> · ' : ''}${s.signed.gated ? '<a href="#signed">signed memories</a> · ' : ''}<a href="#active">active memories</a> · <a href="#composition">composition</a> · <a href="#residual">residual vs FFN</a> · <a href="#json">JSON</a></nav>`;
  const json = `<section id="json"><h2>The numbers as JSON</h2><details><summary>show</summary><pre>${escapeHtml(JSON.stringify(s, null, 1))}</pre></details></section>`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>FFN Lens report: ${escapeHtml(m.name)}</title><style>${CSS}</style></head>
<body>${head}${agreement(s)}${calibration(s)}${patterns(s)}${ablation(s)}${signed(s)}${activity(s)}${composition(s)}${residual(s)}${json}</body></html>
`;
}
