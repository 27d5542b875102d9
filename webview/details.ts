// The details of one heatmap cell: the top memories at that layer and token with their decoded
// value tokens, trigger examples, patterns and labels, off/boost interventions with the
// prediction before → after, and the per-layer (logit lens) predictions at that token under the
// same interventions.

import type { Intervention, InspectView, MemoryDetailsView, PredictionView } from '../src/protocol';
import { h, showToken, tokenChip } from './dom';
import { renderTriggers } from './triggers';
import { request } from './vscodeApi';

/** Boost sets a memory's coefficient to this value (LM-Debugger style promotion). */
export const BOOST_VALUE = 10;
const VALUE_K = 8;

export interface DetailsOptions {
  view: InspectView;
  layer: number;
  position: number;
  interventions: Intervention[];
  onInterventions: (next: Intervention[]) => void;
}

export function renderDetails(o: DetailsOptions): HTMLElement {
  const { view, layer, position } = o;
  const tok = view.tokens[position];
  const cell = view.layers[layer].positions[position];
  const root = h('section', { id: 'details', 'aria-label': 'Cell details' });
  root.append(
    h('h2', {}, `Layer ${view.layers[layer].layer} · token `, h('code', {}, showToken(tok.text)), ` (position ${position})`),
    h('p', { class: 'muted' }, `${cell.active} memories fire above ${view.threshold}; the strongest has coefficient ${cell.maxCoeff.toFixed(3)}.`),
  );

  // Prediction at this token, before → after the interventions.
  const pred = h('div', { id: 'prediction' });
  root.append(h('h3', {}, 'Next-token prediction'), pred);
  renderPrediction(pred, o);

  const list = h('div', { class: 'memories', role: 'list' });
  root.append(h('h3', {}, 'Top memories'), list);
  cell.keys.forEach((key, i) => list.append(renderMemory(o, key, cell.coeffs[i])));

  const lens = h('div', { id: 'layer-lens' }, h('p', { class: 'muted' }, 'Loading per-layer predictions…'));
  root.append(h('h3', {}, 'Per-layer predictions (logit lens)'), lens);
  void fillLens(lens, o);
  return root;
}

/** One memory with its value tokens, triggers and off/boost/highlight buttons (also opened from the attribution view). */
export function renderMemory(o: DetailsOptions, key: number, coeff: number): HTMLElement {
  const layer = o.view.layers[o.layer].layer;
  const current = o.interventions.find((i) => i.layer === layer && i.key === key);
  const isOff = current?.mode === 'set' && current.value === 0;
  const isBoost = current?.mode === 'set' && current.value === BOOST_VALUE;

  const toggle = (kind: 'off' | 'boost'): void => {
    const rest = o.interventions.filter((i) => !(i.layer === layer && i.key === key));
    const wasOn = kind === 'off' ? isOff : isBoost;
    const next: Intervention[] = wasOn ? rest : [...rest, { layer, key, mode: 'set', value: kind === 'off' ? 0 : BOOST_VALUE }];
    o.onInterventions(next);
  };
  const offBtn = h('vscode-button', { 'data-action': 'off', 'data-key': key, secondary: !isOff, 'aria-pressed': isOff ? 'true' : 'false', title: 'Set this memory\'s coefficient to 0' }, isOff ? 'Off ✓' : 'Off');
  const boostBtn = h('vscode-button', { 'data-action': 'boost', 'data-key': key, secondary: !isBoost, 'aria-pressed': isBoost ? 'true' : 'false', title: `Set this memory's coefficient to ${BOOST_VALUE}` }, isBoost ? 'Boost ✓' : 'Boost');
  offBtn.addEventListener('click', () => toggle('off'));
  boostBtn.addEventListener('click', () => toggle('boost'));
  const highlightBtn = h('vscode-button', { 'data-action': 'highlight', 'data-key': key, secondary: true, title: 'Show where this memory fires in the editor' }, 'Highlight');
  highlightBtn.addEventListener('click', () => {
    request('highlightKey', { layer, key }).catch((e: Error) => values.append(h('div', { class: 'error' }, e.message)));
  });

  const values = h('div', { class: 'values', 'data-key': key }, h('span', { class: 'muted' }, 'decoding value…'));
  const triggers = renderTriggers(layer, key);
  const row = h(
    'div',
    { class: 'memory', role: 'listitem', 'data-key': key },
    h('div', { class: 'memory-head' }, h('code', { class: 'key' }, `L${layer}:${key}`), h('span', { class: 'coeff' }, `coeff ${coeff.toFixed(3)}`), h('span', { class: 'spacer' }), offBtn, boostBtn, highlightBtn),
    values,
    triggers,
  );
  request('memoryDetails', { layer, key, k: VALUE_K }).then(
    (d) => fillValues(values, d, coeff),
    (e: Error) => values.replaceChildren(h('span', { class: 'error' }, e.message)),
  );
  return row;
}

/**
 * The value's top and bottom tokens. A gated FFN's coefficient is signed: at a negative one
 * the memory adds −|m|·v, so here it promotes its value's bottom tokens and suppresses its top.
 */
function fillValues(values: HTMLElement, d: MemoryDetailsView, coeff: number): void {
  const flipped = coeff < 0;
  const why = flipped ? { title: 'The coefficient is negative here (gated FFN): the memory writes −|m|·v, reversing its value' } : {};
  values.replaceChildren(
    h('div', { class: 'value-row' }, h('span', { class: 'label', ...why }, flipped ? 'suppresses (m < 0)' : 'promotes'), h('span', { class: 'value-tokens top' }, ...d.value.top.map((t) => tokenChip(t)))),
    h('div', { class: 'value-row' }, h('span', { class: 'label', ...why }, flipped ? 'promotes (m < 0)' : 'suppresses'), h('span', { class: 'value-tokens bottom' }, ...d.value.bottom.map((t) => tokenChip(t)))),
  );
}

/** "L5:12 off, L3:7 = 10" */
function interventionText(list: Intervention[]): string {
  return list.map((i) => `L${i.layer}:${i.key} ${i.value === 0 ? 'off' : `= ${i.value}`}`).join(', ');
}

function renderPrediction(el: HTMLElement, o: DetailsOptions): void {
  const before = o.view.predictions[o.position] ?? [];
  const row = (label: string, list: PredictionView[], id: string): HTMLElement =>
    h('div', { class: 'pred-row', id }, h('span', { class: 'label' }, label), h('span', { class: 'value-tokens' }, ...list.map((t) => tokenChip(t))));
  if (o.interventions.length === 0) {
    el.replaceChildren(row('model', before, 'prediction-before'), h('p', { class: 'muted' }, 'Switch a memory off or boost it to see the prediction change.'));
    return;
  }
  const summary = interventionText(o.interventions);
  const reset = h('vscode-button', { secondary: true, 'data-action': 'reset' }, 'Reset');
  reset.addEventListener('click', () => o.onInterventions([]));
  el.replaceChildren(h('p', { class: 'muted' }, `Interventions: ${summary} `, reset), h('p', { class: 'muted' }, 'Computing…'));
  request('intervene', { ids: o.view.tokens.map((t) => t.id), position: o.position, interventions: o.interventions, k: 5 }).then(
    (r) => el.replaceChildren(el.firstChild ?? '', row('before', r.before, 'prediction-before'), row('after', r.after, 'prediction-after')),
    (e: Error) => el.replaceChildren(h('span', { class: 'error' }, e.message)),
  );
}

async function fillLens(el: HTMLElement, o: DetailsOptions): Promise<void> {
  try {
    const layers = await request('layerPredictions', { ids: o.view.tokens.map((t) => t.id), position: o.position, k: 3, interventions: o.interventions });
    const body = h('tbody');
    for (const l of layers) {
      body.append(
        h('tr', {}, h('th', { scope: 'row' }, String(l.layer)), h('td', {}, ...l.beforeFfn.map((t) => tokenChip(t))), h('td', {}, ...l.afterFfn.map((t) => tokenChip(t)))),
      );
    }
    // Says which model the table shows, so an intervention's effect layer by layer is explicit.
    const note = o.interventions.length
      ? h('p', { class: 'muted', id: 'lens-interventions' }, `With the interventions applied: ${interventionText(o.interventions)}.`)
      : h('p', { class: 'muted' }, 'The model as is; switch a memory off or boost it to see the effect layer by layer.');
    el.replaceChildren(
      note,
      h('table', { class: 'lens' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'layer'), h('th', { scope: 'col' }, 'before FFN'), h('th', { scope: 'col' }, 'after FFN'))), body),
    );
  } catch (e) {
    el.replaceChildren(h('span', { class: 'error' }, e instanceof Error ? e.message : String(e)));
  }
}
