/**
 * A comparison as one self-contained page (analysis/page.ts): the two texts' tokens with the
 * paired positions, their next-token predictions side by side, and per layer the memories that
 * differ most. The extension shows it in a script-less webview and "Export as HTML" writes it as is.
 */
import { escapeHtml, page, pct, showToken as show } from '../page';
import type { CompareResult, CompareSide } from './compare';
import type { TokenPrediction } from '../inspect';

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
  return page(
    `FFN Lens compare: ${m.name}`,
    `<h1>FFN Lens: compare</h1>
<p class="muted">${escapeHtml(m.name)} (${escapeHtml(m.family)}, ${m.nLayers} layers × ${m.dFf} memories, hash ${escapeHtml(m.hash)}). Positions paired ${how}; a memory's Δ is its largest coefficient difference over the pairs.</p>
<div class="sides"><div class="side"><b>A</b> · ${r.a.tokens.length} tokens<div>${tokens(r.a, pairedA, differing('a'))}</div></div>
<div class="side"><b>B</b> · ${r.b.tokens.length} tokens<div>${tokens(r.b, pairedB, differing('b'))}</div></div></div>
<h2>Next-token predictions</h2>${predictions(r)}
${layers(r)}`,
  );
}
