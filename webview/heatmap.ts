// The key heatmap: one row per layer, one column per token. A cell's colour is one of LEVELS
// buckets of the chosen metric, so colours come from CSS classes (theme variables, no inline
// styles under the CSP) and the legend can name each bucket exactly.

import type { InspectView } from '../src/protocol';
import { h, showToken } from './dom';

export type Metric = 'maxCoeff' | 'active';
export const LEVELS = 8;

export interface HeatmapOptions {
  view: InspectView;
  metric: Metric;
  selected?: { layer: number; position: number };
  onOpen: (layer: number, position: number) => void;
}

function metricValue(view: InspectView, metric: Metric, layer: number, pos: number): number {
  const c = view.layers[layer].positions[pos];
  return metric === 'maxCoeff' ? c.maxCoeff : c.active;
}

/** The scale's top: the largest value in the view, so the hottest cell is always the darkest. */
export function scaleMax(view: InspectView, metric: Metric): number {
  let max = 0;
  view.layers.forEach((l, li) => l.positions.forEach((_, p) => (max = Math.max(max, metricValue(view, metric, li, p)))));
  return max > 0 ? max : 1;
}

export function level(value: number, max: number): number {
  if (!(value > 0)) return 0;
  return Math.min(LEVELS - 1, Math.floor((value / max) * LEVELS));
}

export function renderHeatmap(o: HeatmapOptions): HTMLElement {
  const { view, metric } = o;
  const max = scaleMax(view, metric);
  const focus = o.selected ?? { layer: view.layers.length - 1, position: 0 };

  const head = h('tr', {}, h('th', { scope: 'col', class: 'corner' }, 'layer'));
  view.tokens.forEach((t, p) =>
    head.append(h('th', { scope: 'col', class: 'tok-head', title: `${JSON.stringify(t.text)} (id ${t.id}, position ${p})` }, showToken(t.text))),
  );

  const body = h('tbody');
  // Highest layer on top, as in the paper's figures: the residual stream flows upward.
  for (let li = view.layers.length - 1; li >= 0; li--) {
    const layer = view.layers[li];
    const row = h('tr', { 'data-layer': layer.layer }, h('th', { scope: 'row', class: 'layer-head' }, String(layer.layer)));
    layer.positions.forEach((c, p) => {
      const v = metricValue(view, metric, li, p);
      const isSel = o.selected?.layer === li && o.selected.position === p;
      const tip = `layer ${layer.layer} · ${JSON.stringify(view.tokens[p].text)} · max coeff ${c.maxCoeff.toFixed(3)} · ${c.active} memories > ${view.threshold}`;
      row.append(
        h('td', {
          class: `cell lvl-${level(v, max)}${isSel ? ' selected' : ''}`,
          role: 'gridcell',
          tabindex: li === focus.layer && p === focus.position ? 0 : -1,
          'aria-selected': isSel ? 'true' : 'false',
          // title doubles as the accessible name; a separate aria-label would only add DOM weight.
          title: tip,
          'data-layer': li,
          'data-pos': p,
        }),
      );
    });
    body.append(row);
  }

  const table = h('table', { id: 'heatmap', role: 'grid', 'aria-label': 'Memory activity by layer and token', 'data-layers': view.layers.length, 'data-tokens': view.tokens.length }, h('thead', {}, head), body);
  table.addEventListener('click', (e) => {
    const cell = (e.target as HTMLElement).closest<HTMLElement>('td.cell');
    if (cell) o.onOpen(Number(cell.dataset.layer), Number(cell.dataset.pos));
  });
  table.addEventListener('keydown', (e) => onKey(e, table, view, o.onOpen));
  return h('div', { class: 'heatmap-scroll' }, table);
}

/** Grid keyboard model: arrows move a roving tabindex, Enter or Space opens the cell. */
function onKey(e: KeyboardEvent, table: HTMLElement, view: InspectView, open: (l: number, p: number) => void): void {
  const cell = (e.target as HTMLElement).closest<HTMLElement>('td.cell');
  if (!cell) return;
  let l = Number(cell.dataset.layer);
  let p = Number(cell.dataset.pos);
  switch (e.key) {
    case 'Enter':
    case ' ':
      e.preventDefault();
      open(l, p);
      return;
    case 'ArrowUp': l = Math.min(view.layers.length - 1, l + 1); break;
    case 'ArrowDown': l = Math.max(0, l - 1); break;
    case 'ArrowLeft': p = Math.max(0, p - 1); break;
    case 'ArrowRight': p = Math.min(view.tokens.length - 1, p + 1); break;
    case 'Home': p = 0; break;
    case 'End': p = view.tokens.length - 1; break;
    default: return;
  }
  e.preventDefault();
  const next = table.querySelector<HTMLElement>(`td.cell[data-layer="${l}"][data-pos="${p}"]`);
  if (!next) return;
  cell.tabIndex = -1;
  next.tabIndex = 0;
  next.focus();
}

export function renderLegend(view: InspectView, metric: Metric): HTMLElement {
  const max = scaleMax(view, metric);
  const name = metric === 'maxCoeff' ? 'top coefficient' : `memories with coefficient > ${view.threshold}`;
  const legend = h('div', { class: 'legend', role: 'img', 'aria-label': `Colour scale: ${name}, 0 to ${max}` });
  for (let i = 0; i < LEVELS; i++) {
    const lo = (i / LEVELS) * max;
    const fmt = (x: number): string => (metric === 'active' ? String(Math.ceil(x)) : x.toFixed(2));
    legend.append(h('span', { class: `swatch lvl-${i}`, title: `≥ ${fmt(lo)}` }));
  }
  legend.append(h('span', { class: 'legend-max' }, `0 … ${metric === 'active' ? max : max.toFixed(2)}`));
  return legend;
}
