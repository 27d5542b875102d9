/**
 * A comparison as one self-contained HTML page (inline CSS, no script, nothing loaded): the two
 * texts' tokens with the paired positions, their next-token predictions side by side, and per
 * layer the memories that differ most. The extension shows it in a script-less webview and
 * "Export as HTML" writes it as is. Colours come from VS Code's theme variables inside the
 * editor and fall back to a light page (dark where the browser prefers it) outside.
 */
import { escapeHtml } from '../reportSvg';
import type { CompareResult, CompareSide } from './compare';
import type { TokenPrediction } from '../inspect';

const CSS = `
body{font:13px/1.45 var(--vscode-font-family,system-ui,sans-serif);margin:1rem auto;max-width:980px;padding:0 1rem;
 color:var(--vscode-foreground,#1f2328);background:var(--vscode-editor-background,#fff)}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.05rem;margin-top:1.4rem;border-bottom:1px solid var(--vscode-panel-border,#d0d7de);padding-bottom:.2rem}
.muted{color:var(--vscode-descriptionForeground,#57606a)}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.side{border:1px solid var(--vscode-panel-border,#d0d7de);border-radius:4px;padding:.5rem .7rem}
.tok{font-family:var(--vscode-editor-font-family,monospace);white-space:pre;border:1px solid transparent;border-radius:3px;padding:0 2px;margin:1px;display:inline-block}
.tok.paired{border-color:var(--vscode-panel-border,#d0d7de)}
.tok.diff{background:var(--vscode-diffEditor-insertedTextBackground,#fff8c5);border-color:var(--vscode-focusBorder,#bf8700)}
table{border-collapse:collapse;margin:.4rem 0;font-variant-numeric:tabular-nums;width:100%}
th,td{border:1px solid var(--vscode-panel-border,#d0d7de);padding:.15rem .45rem;text-align:left;vertical-align:top}
th{background:var(--vscode-editorWidget-background,#f6f8fa)}
td.num{text-align:right}
.up{color:var(--vscode-charts-green,#1a7f37)}.down{color:var(--vscode-charts-red,#cf222e)}
code{font-family:var(--vscode-editor-font-family,monospace)}
@media (prefers-color-scheme:dark){body:not([class*=vscode]){background:#0d1117;color:#e6edf3}}
`;

/** A token with its whitespace visible (as the panel shows it). */
const show = (t: string) => escapeHtml(t === '' ? '∅' : t.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→'));
const pct = (p: number) => `${(p * 100).toFixed(p >= 0.1 ? 0 : 1)}%`;
const chips = (ps: TokenPrediction[]) => ps.map((p) => `<code>${show(p.text)}</code>`).join(' ');

function tokens(side: CompareSide, paired: Set<number>, differing: Set<number>): string {
  return side.tokens
    .map((t, i) => `<span class="tok${paired.has(i) ? ' paired' : ''}${differing.has(i) ? ' diff' : ''}" title="position ${i}, id ${t.id}">${show(t.text)}</span>`)
    .join('');
}

function predictions(r: CompareResult): string {
  const n = Math.max(r.a.predictions.length, r.b.predictions.length);
  const probIn = (ps: TokenPrediction[], id: number) => ps.find((p) => p.id === id);
  const rows = Array.from({ length: n }, (_, i) => {
    const a = r.a.predictions[i];
    const b = r.b.predictions[i];
    // each side's token, with its probability on the other side when that is in the other's list
    const cell = (p: TokenPrediction | undefined, other: TokenPrediction[]) =>
      p ? `<td><code>${show(p.text)}</code></td><td class="num">${pct(p.prob)}</td><td class="num muted">${probIn(other, p.id) ? pct(probIn(other, p.id)!.prob) : '–'}</td>` : '<td></td><td></td><td></td>';
    return `<tr><td class="num">${i + 1}</td>${cell(a, r.b.predictions)}${cell(b, r.a.predictions)}</tr>`;
  });
  return `<table><thead><tr><th>#</th><th>A: next token</th><th>p</th><th>in B</th><th>B: next token</th><th>p</th><th>in A</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function layers(r: CompareResult): string {
  return r.layers
    .map(({ layer, memories }) => {
      const rows = memories.map(
        (m) =>
          `<tr><td><code>L${m.layer}:${m.key}</code></td><td class="num">${m.coeffA.toFixed(3)}</td><td class="num">${m.coeffB.toFixed(3)}</td>` +
          `<td class="num ${m.delta >= 0 ? 'up' : 'down'}">${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(3)}</td>` +
          `<td>${show(r.a.tokens[m.positionA].text)} / ${show(r.b.tokens[m.positionB].text)} <span class="muted">(${m.positionA} / ${m.positionB})</span></td><td>${chips(m.value)}</td></tr>`,
      );
      return `<h2>Layer ${layer}</h2><table><thead><tr><th>memory</th><th>coeff A</th><th>coeff B</th><th>Δ (B − A)</th><th>at token A / B</th><th>value tokens</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
    })
    .join('');
}

export function renderCompare(r: CompareResult): string {
  const m = r.model;
  const differing = (side: 'a' | 'b') => new Set(r.pairs.filter(([i, j]) => r.a.tokens[i].id !== r.b.tokens[j].id).map(([i, j]) => (side === 'a' ? i : j)));
  const pairedA = new Set(r.pairs.map(([i]) => i));
  const pairedB = new Set(r.pairs.map(([, j]) => j));
  const how = r.alignment === 'token' ? 'token by token (same length)' : `from the end (the last ${r.pairs.length} tokens)`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>FFN Lens compare: ${escapeHtml(m.name)}</title><style>${CSS}</style></head>
<body><h1>FFN Lens: compare</h1>
<p class="muted">${escapeHtml(m.name)} (${escapeHtml(m.family)}, ${m.nLayers} layers × ${m.dFf} memories, hash ${escapeHtml(m.hash)}). Positions paired ${how}; a memory's Δ is its largest coefficient difference over the pairs.</p>
<div class="sides"><div class="side"><b>A</b> · ${r.a.tokens.length} tokens<div>${tokens(r.a, pairedA, differing('a'))}</div></div>
<div class="side"><b>B</b> · ${r.b.tokens.length} tokens<div>${tokens(r.b, pairedB, differing('b'))}</div></div></div>
<h2>Next-token predictions</h2>${predictions(r)}
${layers(r)}
</body></html>
`;
}
