// "Why ‹token›?": direct logit attribution at the selected position. The target is the model's
// prediction or any token typed in, against an optional contrast token; a stacked bar per layer
// shows what the attention and FFN outputs add to the logit (drawn as SVG geometry, which the
// CSP allows where inline styles are not), and the memories that most support and oppose the
// target open their details (value tokens, triggers, off/boost) in place; opening one selects it.

import type { AttributedMemoryView, AttributionComponentView, AttributionView, Intervention, InspectView, MemoryRef, TokenChoice } from '../src/protocol';
import { memoryId, renderMemory } from './details';
import { h, showToken } from './dom';
import { request } from './vscodeApi';

const MEMORIES = 8;
const SVG = 'http://www.w3.org/2000/svg';

export interface AttributionOptions {
  view: InspectView;
  position: number;
  interventions: Intervention[];
  onInterventions: (next: Intervention[]) => void;
  /** What was typed last, kept in the panel's state. */
  target: string;
  contrast: string;
  onChoice: (target: string, contrast: string) => void;
  /** The selected memory (marked in the lists) and how to select one. */
  memory?: MemoryRef;
  onMemory: (m: MemoryRef | undefined) => void;
  /** A selected memory the cell's own list lacks: opened here if listed, else onUnlisted is called. */
  open?: MemoryRef;
  onUnlisted?: () => void;
}

/** Typed text → a token choice: "#123" is an id, anything else the token's text. */
function choice(text: string): TokenChoice | null {
  if (text === '') return null;
  const id = /^#(\d+)$/.exec(text.trim());
  return id ? { id: Number(id[1]) } : { text };
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)}`;

export function renderAttribution(o: AttributionOptions): HTMLElement {
  const root = h('div', { id: 'attribution' });
  const predicted = o.view.predictions[o.position]?.[0];
  const target = h('vscode-textfield', { id: 'attr-target', placeholder: predicted ? `${showToken(predicted.text)} (the prediction)` : 'the prediction', value: o.target, 'aria-label': 'Target token' });
  const contrast = h('vscode-textfield', { id: 'attr-contrast', placeholder: 'none', value: o.contrast, 'aria-label': 'Contrast token' });
  const go = h('vscode-button', { id: 'attr-go' }, 'Explain');
  const result = h('div', { id: 'attr-result' }, h('p', { class: 'muted' }, 'Attributing…'));
  const valueOf = (el: HTMLElement) => (el as HTMLElement & { value: string }).value ?? '';
  const run = () => o.onChoice(valueOf(target), valueOf(contrast));
  go.addEventListener('click', run);
  for (const f of [target, contrast]) f.addEventListener('keydown', (e) => (e as KeyboardEvent).key === 'Enter' && run());
  root.append(
    h('div', { class: 'toolbar' }, h('label', { class: 'muted', for: 'attr-target' }, 'target'), target, h('label', { class: 'muted', for: 'attr-contrast' }, 'vs'), contrast, go),
    h('p', { class: 'muted' }, 'A token as text (mind its leading space: "·" shows one) or #id. The final norm is frozen at this position, so the parts below add up to the logit exactly.'),
    result,
  );
  request('attribute', { ids: o.view.tokens.map((t) => t.id), position: o.position, target: choice(o.target), contrast: choice(o.contrast), k: MEMORIES }).then(
    (a) => {
      result.replaceChildren(...renderResult(o, a));
      if (!o.open) return;
      const item = result.querySelector<HTMLElement>(`.attr-memory > vscode-button[data-memory="${memoryId(o.open)}"]`);
      if (item) item.click();
      else o.onUnlisted?.();
    },
    (e: Error) => {
      result.replaceChildren(h('p', { class: 'error' }, e.message));
      o.onUnlisted?.();
    },
  );
  return root;
}

function renderResult(o: AttributionOptions, a: AttributionView): Element[] {
  const vs = a.contrast ? ` − logit(${showToken(a.contrast.text)})` : '';
  return [
    h('p', {}, 'logit(', h('code', {}, showToken(a.target.text)), `)${vs} = `, h('b', {}, a.logit.toFixed(3)), a.note ? h('span', { class: 'muted' }, ` (${a.note})`) : ''),
    layerBars(a.components),
    memoryList(o, 'Supporting memories', a.support, 'support'),
    memoryList(o, 'Opposing memories', a.oppose, 'oppose'),
  ];
}

/** One row per layer (and for the embeddings and the constant): attention and FFN stacked from 0, positive right, negative left. */
function layerBars(components: AttributionComponentView[]): SVGSVGElement {
  const rows: { label: string; parts: AttributionComponentView[] }[] = [{ label: 'embed', parts: components.filter((c) => c.kind === 'embed' || c.kind === 'pos') }];
  const layers = [...new Set(components.filter((c) => c.layer !== null).map((c) => c.layer!))];
  for (const l of layers) rows.push({ label: `L${l}`, parts: components.filter((c) => c.layer === l) });
  rows.push({ label: 'const', parts: components.filter((c) => c.kind === 'bias') });
  const span = Math.max(1e-9, ...rows.map((r) => Math.max(r.parts.filter((c) => c.score > 0).reduce((s, c) => s + c.score, 0), -r.parts.filter((c) => c.score < 0).reduce((s, c) => s + c.score, 0))));
  const W = 420;
  const left = 48;
  const half = (W - left) / 2;
  const zero = left + half;
  const rowH = 16;
  const svg = document.createElementNS(SVG, 'svg');
  const el = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  svg.setAttribute('viewBox', `0 0 ${W} ${rows.length * rowH + 18}`);
  svg.setAttribute('class', 'attr-bars');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Contribution to the logit by layer: attention and FFN');
  rows.forEach((r, i) => {
    const y = i * rowH;
    svg.append(el('text', { x: left - 6, y: y + 12, 'text-anchor': 'end', class: 'tick' }, r.label));
    let pos = 0;
    let neg = 0;
    for (const c of r.parts) {
      const w = (Math.abs(c.score) / span) * half;
      const x = c.score >= 0 ? zero + (pos / span) * half : zero - (neg / span) * half - w;
      if (c.score >= 0) pos += c.score;
      else neg -= c.score;
      const rect = el('rect', { x, y: y + 2, width: Math.max(0.5, w), height: rowH - 4, class: `seg seg-${c.kind}` });
      rect.append(el('title', {}, `${c.name}: ${signed(c.score)}`));
      svg.append(rect);
    }
  });
  svg.append(el('line', { x1: zero, x2: zero, y1: 0, y2: rows.length * rowH, class: 'axis-line' }));
  const legend = rows.length * rowH + 14;
  [['attn', 'attention'], ['mlp', 'FFN'], ['embed', 'embeddings'], ['bias', 'constant']].forEach(([kind, name], i) => {
    svg.append(el('rect', { x: left + i * 90, y: legend - 9, width: 10, height: 10, class: `seg seg-${kind}` }), el('text', { x: left + i * 90 + 14, y: legend, class: 'tick' }, name));
  });
  return svg;
}

function memoryList(o: AttributionOptions, title: string, memories: AttributedMemoryView[], side: string): HTMLElement {
  const box = h('div', { class: `attr-memories ${side}` }, h('h4', {}, title));
  if (memories.length === 0) box.append(h('p', { class: 'muted' }, 'None.'));
  for (const m of memories) {
    const details = h('div', { class: 'attr-details', hidden: true });
    const ref = { layer: m.layer, key: m.key };
    const isSelected = o.memory?.layer === m.layer && o.memory.key === m.key;
    const item = h(
      'vscode-button',
      {
        secondary: true,
        class: isSelected ? 'selected' : undefined,
        'data-layer': m.layer,
        'data-key': m.key,
        'data-memory': memoryId(ref),
        'aria-current': isSelected ? 'true' : undefined,
        'aria-expanded': 'false',
        title: 'Show this memory and select it',
      },
      `L${m.layer}:${m.key}  ${signed(m.score)}  (coeff ${m.coeff.toFixed(2)})`,
    );
    item.addEventListener('click', () => {
      if (!details.firstChild) details.append(renderMemory({ ...o, layer: m.layer }, m.key, m.coeff));
      details.hidden = !details.hidden;
      item.setAttribute('aria-expanded', String(!details.hidden));
      if (!details.hidden && item.getAttribute('aria-current') !== 'true') o.onMemory(ref);
    });
    box.append(h('div', { class: 'attr-memory' }, item, details));
  }
  return box;
}
