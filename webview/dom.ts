// Small DOM helpers. Everything is built with createElement/textContent: model output is arbitrary
// text, and never becoming markup is what keeps the strict CSP meaningful.

type Attrs = Record<string, string | number | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: (Node | string)[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: (Node | string)[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) el.append(c);
  return el;
}

/** Shows a token so that whitespace is visible: leading space as "·", newline as "↵". */
export function showToken(text: string): string {
  if (text === '') return '∅';
  return text.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→');
}

/** Probabilities as percentages; value-vector distributions are nearly flat, so tiny ones keep two significant digits. */
export function pct(p: number): string {
  if (p >= 0.1) return `${(p * 100).toFixed(0)}%`;
  if (p >= 0.001) return `${(p * 100).toFixed(1)}%`;
  return `${(p * 100).toPrecision(2)}%`;
}

/** A chip for a predicted or decoded token, with its probability. */
export function tokenChip(t: { id: number; text: string; prob: number }, cls = 'chip'): HTMLElement {
  return h('span', { class: cls, title: `${JSON.stringify(t.text)} ${(t.prob * 100).toFixed(2)}%`, 'data-id': t.id, 'data-prob': t.prob }, h('span', { class: 'tok' }, showToken(t.text)), h('span', { class: 'prob' }, pct(t.prob)));
}
