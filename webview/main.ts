// Webview entry: renders what the host sends (an analysis, the engine's state) and keeps the
// user's place (selected cell and memory, interventions, metric) in VS Code's webview state, so
// hiding and restoring the panel, or reloading the window, brings back the same view without
// recomputing.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-radio/index.js';
import '@vscode-elements/elements/dist/vscode-radio-group/index.js';
import type { EngineState, HostMessage, MemoryRef } from '../src/protocol';
import { renderAttribution } from './attribution';
import { markSelectedMemory, renderDetails, revealMemory, showUnlistedMemory, type DetailsOptions } from './details';
import { h, showToken } from './dom';
import { renderHeatmap, renderLegend, type Metric } from './heatmap';
import { loadState, place, ready, rendered, saveState, settle, type PanelState } from './vscodeApi';

const app = document.getElementById('app') as HTMLElement;
let state: PanelState = loadState();
let engine: { state: EngineState; message: string } = { state: 'idle', message: '' };

function update(patch: Partial<PanelState>): void {
  state = { ...state, ...patch };
  saveState(state);
  place(state);
  render();
}

/** Selects a memory (or clears it) without re-rendering: the panel marks it where it is shown. */
function selectMemory(m: MemoryRef | undefined): void {
  state = { ...state, memory: m };
  saveState(state);
  place(state);
  markSelectedMemory(m, selectMemory);
}

function render(): void {
  const status = statusLine();
  const view = state.view;
  if (!view) {
    app.replaceChildren(status, h('p', { class: 'empty' }, 'Select text in an editor and run “FFN Lens: Inspect Selection”.'));
    return;
  }
  const m = view.model;
  const metricSelect = h('vscode-single-select', { id: 'metric', 'aria-label': 'Cell colour' });
  for (const [value, label] of [['maxCoeff', 'top coefficient'], ['active', 'memories above threshold']] as const) {
    metricSelect.append(h('vscode-option', { value, selected: value === state.metric }, label));
  }
  metricSelect.addEventListener('change', () => update({ metric: (metricSelect as HTMLElement & { value: string }).value as Metric }));

  const header = h(
    'header',
    {},
    h('h1', {}, m.name),
    h('span', { class: 'muted', id: 'model-facts' }, `${m.family} · ${m.nLayers} layers · d_ff ${m.dFf} · ${view.tokens.length} tokens`),
  );
  const toolbar = h('div', { class: 'toolbar' }, h('label', { class: 'muted', for: 'metric' }, 'colour by'), metricSelect, renderLegend(view, state.metric));
  const parts: HTMLElement[] = [
    status,
    header,
    toolbar,
    renderHeatmap({ view, metric: state.metric, selected: state.selected, onOpen: (layer, position) => open(layer, position) }),
  ];
  const sel = state.selected;
  if (sel && sel.layer < view.layers.length && sel.position < view.tokens.length) {
    // a memory outside the model (a hand-edited session) is not shown as selected
    const memory = state.memory && state.memory.layer < view.layers.length && state.memory.key < m.dFf ? state.memory : undefined;
    const details: DetailsOptions = {
      view,
      layer: sel.layer,
      position: sel.position,
      interventions: state.interventions,
      onInterventions: (next) => update({ interventions: next }),
      memory,
      onMemory: selectMemory,
    };
    // The selected memory's details are open where a list holds it: the cell's own, else the
    // attribution's; a memory that neither lists gets its details under the selection line.
    const inCell = memory && memory.layer === view.layers[sel.layer].layer && view.layers[sel.layer].positions[sel.position].keys.includes(memory.key);
    const elsewhere = memory && !inCell ? memory : undefined;
    parts.push(renderDetails(details), whySection(details, elsewhere));
  } else {
    parts.push(h('p', { class: 'muted' }, 'Click a cell (or focus it and press Enter) to see the memories behind it.'));
  }
  app.replaceChildren(...parts);
}

/** "Why ‹token›?" at the selected position: what made the model predict the target there. */
function whySection(details: DetailsOptions, elsewhere: MemoryRef | undefined): HTMLElement {
  const { view, position } = details;
  const asked = state.attribution ?? { target: '', contrast: '' };
  const shown = asked.target || view.predictions[position]?.[0]?.text || '';
  return h(
    'section',
    { id: 'why', 'aria-label': 'Attribution' },
    h('h2', {}, 'Why ', h('code', {}, showToken(shown)), '?'),
    renderAttribution({
      view,
      position,
      interventions: state.interventions,
      onInterventions: (next) => update({ interventions: next }),
      target: asked.target,
      contrast: asked.contrast,
      onChoice: (target, contrast) => update({ attribution: { target, contrast } }),
      memory: details.memory,
      onMemory: selectMemory,
      open: elsewhere,
      onUnlisted: elsewhere && (() => showUnlistedMemory(details, elsewhere)),
    }),
  );
}

function open(layer: number, position: number): void {
  // Interventions belong to one prediction; moving to another token starts clean.
  // The selected memory too: the attribution lists memories of every layer at the same token.
  const samePos = state.selected?.position === position;
  update({ selected: { layer, position }, interventions: samePos ? state.interventions : [], memory: samePos ? state.memory : undefined });
  document.querySelector<HTMLElement>(`td.cell[data-layer="${layer}"][data-pos="${position}"]`)?.focus();
}

window.addEventListener('message', (e: MessageEvent<HostMessage>) => {
  const msg = e.data;
  if (settle(msg)) return;
  switch (msg.type) {
    case 'inspect': {
      const t0 = performance.now();
      update({ view: msg.view, selected: msg.restore?.selected, memory: msg.restore?.memory, interventions: msg.restore?.interventions ?? [] });
      // a reopened session scrolls to its memory when the cell lists it (the attribution's opens later, in place)
      if (msg.restore?.memory) revealMemory(msg.restore.memory, false);
      // Report once the frame is painted: the host logs it as the panel's share of the latency.
      requestAnimationFrame(() => rendered(msg.view.tokens.length, performance.now() - t0));
      break;
    }
    case 'status':
      engine = { state: msg.state, message: msg.message };
      // Only the status line changes: re-rendering everything would drop pending value requests.
      document.getElementById('status')?.replaceWith(statusLine());
      if (!document.getElementById('status')) render();
      break;
    case 'triggerIndex':
      // A new or changed index: the open details ask for their triggers again.
      if (state.selected) render();
      break;
  }
});

function statusLine(): HTMLElement {
  // A ready engine needs no line: the header already names the model.
  const el = h('div', { id: 'status', class: `status ${engine.state}`, role: 'status', hidden: engine.state === 'ready' });
  if (engine.state === 'loading' || engine.state === 'busy') el.append(h('vscode-progress-ring', { class: 'ring' }));
  el.append(h('span', {}, engine.message));
  return el;
}

render();
ready();
// a restored panel's place, so Save Session sees it before the next change
place(state);
