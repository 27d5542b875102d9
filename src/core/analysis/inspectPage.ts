/**
 * An inspection as a self-contained page (analysis/page.ts), for "Export as HTML": the text's
 * heatmap (layers × tokens, shaded by the strongest memory's coefficient), and for the selected
 * cell its top memories with their value tokens and the next-token prediction before → after the
 * interventions, and the selected memory with its value's top and bottom tokens. It recomputes
 * from the text, so the page shows exactly what the model says.
 */
import type { Model } from '../model';
import type { Intervention } from '../runtime/session';
import { inspect, type TokenPrediction } from './inspect';
import { predictWithInterventions } from './interventions';
import { escapeHtml, page, pct, showToken } from './page';
import { decodeValue } from './values';

export interface InspectPageOptions {
  topK: number;
  threshold: number;
  selected?: { layer: number; position: number };
  /** The selected memory (shown only with a selected cell, as in the panel). */
  memory?: { layer: number; key: number };
  interventions: Intervention[];
  finalNorm?: boolean;
  /** Where the text came from, for the title. */
  label?: string;
}

const chips = (ps: TokenPrediction[]) => ps.map((p) => `<code>${showToken(p.text)}</code> ${pct(p.prob)}`).join(' · ');

export async function renderInspectPage(model: Model, text: string, o: InspectPageOptions): Promise<string> {
  const r = await inspect(model, text, { topK: o.topK, threshold: o.threshold });
  // five tokens per list, fewer for a toy vocabulary
  const k = Math.min(5, model.config.vocabSize);
  const m = r.model;
  const max = Math.max(1e-9, ...r.layers.flatMap((l) => l.positions.map((p) => p.maxCoeff)));
  const sel = o.selected && o.selected.layer < r.layers.length && o.selected.position < r.tokens.length ? o.selected : undefined;
  const head = `<tr><th>layer</th>${r.tokens.map((t, i) => `<th title="position ${i}">${showToken(t.text)}</th>`).join('')}</tr>`;
  const rows = r.layers.map(({ layer, positions }) => {
    const cells = positions.map((p, i) => {
      // shade by coefficient, as the panel's default colouring does; the number stays readable
      const alpha = Math.max(0, Math.min(1, p.maxCoeff / max));
      const isSel = sel?.layer === layer && sel.position === i;
      return `<td class="heat${isSel ? ' selected' : ''}" style="background:rgba(209,134,22,${alpha.toFixed(2)})" title="L${layer}, ${escapeHtml(JSON.stringify(r.tokens[i].text))}: top ${p.top.map((h) => `${h.key} (${h.coeff.toFixed(2)})`).join(', ')}">${p.maxCoeff.toFixed(1)}</td>`;
    });
    return `<tr><th>L${layer}</th>${cells.join('')}</tr>`;
  });
  let details = '<p class="muted">No cell was selected.</p>';
  if (sel) {
    const cell = r.layers[sel.layer].positions[sel.position];
    const mem = o.memory && o.memory.layer < m.nLayers && o.memory.key < m.dFf ? o.memory : undefined;
    const memories: string[] = [];
    for (const h of cell.top) {
      const v = await decodeValue(model, sel.layer, h.key, k, { finalNorm: o.finalNorm });
      const iv = o.interventions.find((x) => x.layer === sel.layer && x.key === h.key);
      const isMem = mem?.layer === sel.layer && mem.key === h.key;
      memories.push(`<tr${isMem ? ' class="selected"' : ''}><td><code>L${sel.layer}:${h.key}</code></td><td class="num">${h.coeff.toFixed(3)}</td><td>${v.top.map((p) => `<code>${showToken(p.text)}</code>`).join(' ')}</td><td>${iv ? `${iv.mode} ${iv.value}` : ''}</td></tr>`);
    }
    const ids = r.tokens.map((t) => t.id);
    const effect = o.interventions.length ? await predictWithInterventions(model, ids, sel.position, o.interventions, k) : undefined;
    const prediction = effect
      ? `<p>before: ${chips(effect.before)}</p><p>after ${o.interventions.length} intervention(s) (${o.interventions.map((i) => `L${i.layer}:${i.key} ${i.mode} ${i.value}`).join(', ')}): ${chips(effect.after)}</p>`
      : `<p>${chips(r.predictions[sel.position])}</p>`;
    details = `<h2>Layer ${sel.layer} · token <code>${showToken(r.tokens[sel.position].text)}</code> (position ${sel.position})</h2>
<p class="muted">${cell.active} memories fire above ${o.threshold}; the strongest has coefficient ${cell.maxCoeff.toFixed(3)}.</p>
<h3>Next-token prediction</h3>${prediction}
${mem ? await selectedMemory(model, mem, mem.layer === sel.layer ? cell.top.find((t) => t.key === mem.key) : undefined, k, o.finalNorm) : ''}
<h3>Top memories</h3><table><thead><tr><th>memory</th><th>coeff</th><th>value tokens</th><th>intervention</th></tr></thead><tbody>${memories.join('')}</tbody></table>`;
  }
  return page(
    `FFN Lens: ${o.label ?? m.name}`,
    `<h1>${escapeHtml(m.name)}</h1>
<p class="muted">${escapeHtml(m.family)} · ${m.nLayers} layers · d_ff ${m.dFf} · ${r.tokens.length} tokens · hash ${escapeHtml(m.hash)}</p>
<h2>Text</h2><p>${r.tokens.map((t) => `<span class="tok">${showToken(t.text)}</span>`).join('')}</p>
<h2>Strongest memory coefficient per layer and token</h2><div style="overflow-x:auto"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div>
${details}`,
  );
}

/** The selected memory's section: its coefficient at the cell (listed: when the cell lists it) and its value's top and bottom tokens. */
async function selectedMemory(model: Model, mem: { layer: number; key: number }, listed: { coeff: number } | undefined, k: number, finalNorm?: boolean): Promise<string> {
  const v = await decodeValue(model, mem.layer, mem.key, k, { finalNorm });
  const coeff = listed ? `coefficient ${listed.coeff.toFixed(3)} at this token` : 'not among this token’s top memories';
  const tokens = (ps: TokenPrediction[]) => ps.map((p) => `<code>${showToken(p.text)}</code>`).join(' ');
  return `<h3>Selected memory</h3><table id="selected-memory"><tbody><tr class="selected"><td><code>L${mem.layer}:${mem.key}</code></td><td class="muted">${coeff}</td></tr>
<tr><td>promotes</td><td>${tokens(v.top)}</td></tr><tr><td>suppresses</td><td>${tokens(v.bottom)}</td></tr></tbody></table>`;
}
