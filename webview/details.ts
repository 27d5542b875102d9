// The details of one heatmap cell: the top memories at that layer and token with their decoded
// value tokens, trigger examples, patterns and labels, off/boost interventions with the
// prediction before → after, and the per-layer (logit lens) predictions at that token under the
// same interventions. One memory can be selected (a session keeps it): its rows are marked
// wherever the panel lists it, and a line above the list names it.

import type { Intervention, InspectView, MemoryDetailsView, MemoryRef, PredictionView } from '../src/protocol';
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
  /** The selected memory; it may be at another layer (one opened from the attribution). */
  memory?: MemoryRef;
  /** Selects a memory, or clears the selection (undefined). */
  onMemory: (m: MemoryRef | undefined) => void;
}

/** The value of the data-memory attribute that every element showing a memory carries. */
export const memoryId = (m: MemoryRef): string => `${m.layer}:${m.key}`;

const sameMemory = (a: MemoryRef | undefined, b: MemoryRef): boolean => a?.layer === b.layer && a.key === b.key;

export function renderDetails(o: DetailsOptions): HTMLElement {
  const { view, layer, position } = o;
  const tok = view.tokens[position];
  const cell = view.layers[layer].positions[position];
  const root = h('section', { id: 'details', 'aria-label': 'Cell details' });
  root.append(
    h('h2', {}, `Layer ${view.layers[layer].layer} · token `, h('code', {}, showToken(tok.text)), ` (position ${position})`),
    h('p', { class: 'muted' }, `${cell.active} memories fire above ${view.threshold}; the strongest has coefficient ${cell.maxCoeff.toFixed(3)}.`),
    selectedMemoryLine(o.memory, o.onMemory),
  );

  // Prediction at this token, before → after the interventions.
  const pred = h('div', { id: 'prediction' });
  root.append(h('h3', {}, 'Next-token prediction'), pred);
  renderPrediction(pred, o);

  const list = h('div', { class: 'memories', role: 'list', 'aria-label': 'Top memories: select one to keep it in a session' });
  root.append(h('h3', {}, 'Top memories'), list);
  cell.keys.forEach((key, i) => list.append(renderMemory(o, key, cell.coeffs[i])));

  const lens = h('div', { id: 'layer-lens' }, h('p', { class: 'muted' }, 'Loading per-layer predictions…'));
  root.append(h('h3', {}, 'Per-layer predictions (logit lens)'), lens);
  void fillLens(lens, o);
  return root;
}

/**
 * One memory with its value tokens, triggers and off/boost/highlight buttons (also opened from the
 * attribution view). coeff: its coefficient at the token, undefined where it is not known (a
 * selected memory that the cell and the attribution do not list).
 */
export function renderMemory(o: DetailsOptions, key: number, coeff: number | undefined): HTMLElement {
  const layer = o.view.layers[o.layer].layer;
  const ref = { layer, key };
  const isSelected = sameMemory(o.memory, ref);
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
  // The key is the row's select toggle: a real button, so Tab reaches it and Enter/Space press it.
  const select = h(
    'button',
    { class: 'memory-select', 'aria-pressed': String(isSelected), title: 'Select this memory (Save Session keeps it); press again to clear' },
    h('code', { class: 'key' }, `L${layer}:${key}`),
  );
  select.addEventListener('click', () => o.onMemory(select.getAttribute('aria-pressed') === 'true' ? undefined : ref));
  const row = h(
    'div',
    { class: `memory${isSelected ? ' selected' : ''}`, role: 'listitem', 'data-key': key, 'data-layer': layer, 'data-memory': memoryId(ref), 'aria-current': isSelected ? 'true' : undefined },
    h('div', { class: 'memory-head' }, select, h('span', { class: 'coeff' }, coeff === undefined ? 'not among this token’s top memories' : `coeff ${coeff.toFixed(3)}`), h('span', { class: 'spacer' }), offBtn, boostBtn, highlightBtn),
    values,
    triggers,
  );
  // A click on the row's own text selects it too; controls inside it, and selecting text, do not.
  row.addEventListener('click', (e) => {
    const t = e.target as HTMLElement;
    if (t.closest('button, input, a, vscode-button, vscode-textfield, vscode-radio, vscode-radio-group') || !window.getSelection()?.isCollapsed) return;
    if (row.getAttribute('aria-current') !== 'true') o.onMemory(ref);
  });
  request('memoryDetails', { layer, key, k: VALUE_K }).then(
    (d) => fillValues(values, d, coeff ?? 0),
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

/** The line that names the selected memory, with Show (scroll to it) and Clear; hidden when none is. */
export function selectedMemoryLine(m: MemoryRef | undefined, onMemory: (m: MemoryRef | undefined) => void): HTMLElement {
  const el = h('div', { id: 'selected-memory', hidden: !m });
  if (!m) return el;
  const show = h('vscode-button', { secondary: true, 'data-action': 'show-memory', title: 'Scroll to the selected memory' }, 'Show');
  show.addEventListener('click', () => revealMemory(m));
  const clear = h('vscode-button', { secondary: true, 'data-action': 'clear-memory', title: 'Clear the memory selection' }, 'Clear');
  clear.addEventListener('click', () => onMemory(undefined));
  el.append(h('div', { class: 'selected-memory-head' }, h('span', { class: 'label' }, 'selected memory'), h('code', { class: 'key' }, `L${m.layer}:${m.key}`), show, clear));
  return el;
}

/**
 * Marks the selected memory wherever the panel shows it, in place: re-rendering would drop the
 * value and trigger requests in flight and the scroll position.
 */
export function markSelectedMemory(m: MemoryRef | undefined, onMemory: (m: MemoryRef | undefined) => void): void {
  const id = m && memoryId(m);
  document.querySelectorAll<HTMLElement>('[data-memory]').forEach((el) => {
    const on = el.dataset.memory === id;
    el.classList.toggle('selected', on);
    if (on) el.setAttribute('aria-current', 'true');
    else el.removeAttribute('aria-current');
    el.querySelector(':scope > .memory-head > .memory-select')?.setAttribute('aria-pressed', String(on));
  });
  document.getElementById('selected-memory')?.replaceWith(selectedMemoryLine(m, onMemory));
}

/**
 * Scrolls to the first place that shows memory m; focus: and moves the keyboard focus there (not
 * when a session opens: the panel must not take the focus from the editor).
 */
export function revealMemory(m: MemoryRef, focus = true): void {
  const el = Array.from(document.querySelectorAll<HTMLElement>(`[data-memory="${memoryId(m)}"]`)).find((e) => e.offsetParent !== null);
  el?.scrollIntoView({ block: 'nearest' });
  if (focus) (el?.querySelector<HTMLElement>(':scope > .memory-head > .memory-select') ?? el)?.focus();
}

/** Shows a selected memory that no list on the panel holds under its line, with its details. */
export function showUnlistedMemory(o: DetailsOptions, m: MemoryRef): void {
  const line = document.getElementById('selected-memory');
  if (!line || line.querySelector('.memory') || m.layer >= o.view.layers.length) return;
  line.append(renderMemory({ ...o, layer: m.layer }, m.key, undefined));
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
