// What the trigger index and the labels file say about one memory, under its value tokens: the
// top trigger examples (the trigger token highlighted, the corpus's next token, the coefficient;
// 5 first, all on request), for a gated memory its negative triggers as their own list with the
// value's bottom tokens it promotes there, the automatic patterns with their coverage, and human
// labels with a small form to add one. Everything arrives from the host through typed requests.

import type { LabelKind, LabelView, MemoryTriggersView, NegativeTriggers, PatternsView, TriggerExampleView } from '../src/protocol';
import { h, showToken } from './dom';
import { request } from './vscodeApi';

/** Examples shown before "show all": enough to see a pattern, few enough to scan. */
export const FIRST_TRIGGERS = 5;
/** Characters of context shown before the trigger token; the tooltip holds the whole window. */
const CONTEXT_CHARS = 120;

type ValueField = HTMLElement & { value: string };

export function renderTriggers(layer: number, key: number): HTMLElement {
  const el = h('div', { class: 'triggers', 'data-key': key }, h('span', { class: 'muted' }, 'looking up trigger examples…'));
  request('memoryTriggers', { layer, key }).then(
    (d) => el.replaceChildren(...triggerParts(d)),
    (e: Error) => el.replaceChildren(h('span', { class: 'error' }, e.message)),
  );
  return el;
}

function triggerParts(d: MemoryTriggersView): HTMLElement[] {
  const parts: HTMLElement[] = [];
  if (d.index.state === 'none') {
    parts.push(h('p', { class: 'muted trigger-index-none' }, 'Trigger examples: no trigger index is set. Run “FFN Lens: Build Trigger Index…” to build one.'));
  } else if (d.index.state === 'error') {
    parts.push(h('p', { class: 'error trigger-index-error', role: 'alert' }, `Trigger examples: ${d.index.message}`));
  } else {
    // a signed index's first list holds m > 0 only; an unsigned one's is the top by coefficient
    const signed = d.negative !== null && 'triggers' in d.negative;
    parts.push(exampleList(d.triggers, signed ? 'fires positive on' : 'triggered by', 'trigger-examples'));
    if (d.negative) parts.push(negativeList(d.negative));
    if (d.patterns) parts.push(patternList(d.patterns));
  }
  parts.push(labelBlock(d));
  return parts;
}

/** A gated memory's negative side: its own list (m < 0 promotes the value's bottom tokens), or why the index has none. */
function negativeList(n: Exclude<NegativeTriggers, null>): HTMLElement {
  if ('absent' in n) return h('p', { class: 'muted negative-triggers-absent' }, `Negative triggers: ${n.absent}.`);
  const promotes = n.promotes.map((t) => showToken(t.text)).join(' ');
  return exampleList(n.triggers, `fires negative on (m < 0), promoting ${promotes}`, 'negative-triggers');
}

function exampleList(triggers: TriggerExampleView[], label: string, kind: 'trigger-examples' | 'negative-triggers'): HTMLElement {
  const box = h('div', { class: kind });
  if (triggers.length === 0) {
    box.append(h('p', { class: 'muted' }, kind === 'negative-triggers' ? 'No position of the corpus gives this memory m < 0.' : 'The index holds no trigger example for this memory.'));
    return box;
  }
  const list = h('ol', { class: 'trigger-list' });
  const show = (n: number): void => list.replaceChildren(...triggers.slice(0, n).map(exampleItem));
  show(FIRST_TRIGGERS);
  const why = kind === 'negative-triggers' ? { title: 'At these positions the coefficient is negative: the memory adds −|m|·v, promoting its value’s bottom tokens' } : {};
  box.append(h('div', { class: 'label', ...why }, label), list);
  if (triggers.length > FIRST_TRIGGERS) {
    const more = h('vscode-button', { secondary: true, 'data-action': kind === 'negative-triggers' ? 'all-negative-triggers' : 'all-triggers', 'aria-expanded': 'false' }, `Show all ${triggers.length}`);
    more.addEventListener('click', () => {
      const all = more.getAttribute('aria-expanded') !== 'true';
      show(all ? triggers.length : FIRST_TRIGGERS);
      more.setAttribute('aria-expanded', String(all));
      more.textContent = all ? `Show top ${FIRST_TRIGGERS}` : `Show all ${triggers.length}`;
    });
    box.append(more);
  }
  return box;
}

function exampleItem(t: TriggerExampleView): HTMLElement {
  const before = t.text.slice(0, t.start);
  const shown = before.length > CONTEXT_CHARS ? `…${before.slice(before.length - CONTEXT_CHARS)}` : before;
  return h(
    'li',
    {
      class: 'trigger',
      title: t.text,
      'data-paragraph': t.paragraph,
      'data-window': t.window,
      'data-position': t.position,
      'data-coeff': t.coeff,
      'data-next': t.next?.id,
    },
    h('span', { class: 'prefix' }, shown),
    h('mark', {}, t.text.slice(t.start, t.end)),
    h('span', { class: 'next', title: 'the next token in the corpus' }, t.next ? ` → ${showToken(t.next.text)}` : ' → (end of paragraph)'),
    h('span', { class: 'coeff muted' }, ` ${t.coeff.toFixed(2)}`),
  );
}

function patternList(p: PatternsView): HTMLElement {
  const box = h('div', { class: 'patterns' });
  const head = `patterns: ${p.covered} of the top ${p.triggers} triggers covered (shallow ${p.coveredShallow}, semantic ${p.coveredSemantic}); output hints cover ${p.coveredOutput}`;
  box.append(h('div', { class: 'label' }, head));
  if (p.patterns.length === 0) {
    box.append(h('p', { class: 'muted' }, 'No pattern covers 3 or more of them.'));
    return box;
  }
  box.append(
    h(
      'ul',
      { class: 'pattern-list' },
      ...p.patterns.map((x) =>
        h('li', { class: 'pattern', 'data-kind': x.kind, 'data-type': x.type }, h('span', { class: `kind ${x.kind}` }, x.kind), ` ${x.label} `, h('span', { class: 'muted' }, `${x.covers.length}/${p.triggers}`)),
      ),
    ),
  );
  return box;
}

function labelBlock(d: MemoryTriggersView): HTMLElement {
  const box = h('div', { class: 'labels', 'data-key': d.key });
  const list = h('span', { class: 'label-list' });
  const error = h('span', { class: 'error label-error', role: 'alert' });
  const showLabels = (labels: LabelView[]): void => {
    list.replaceChildren(...labels.map((l) => labelChip(l)));
    error.textContent = '';
  };
  const fail = (e: Error): void => {
    error.textContent = e.message;
  };
  const labelChip = (l: LabelView): HTMLElement => {
    const remove = h('button', { class: 'remove', title: `Remove the label “${l.text}”`, 'aria-label': `Remove label ${l.text}` }, '×');
    remove.addEventListener('click', () => request('removeLabel', { layer: d.layer, key: d.key, text: l.text }).then(showLabels, fail));
    return h('span', { class: `user-label ${l.kind}`, 'data-kind': l.kind }, h('span', { class: 'kind' }, l.kind), ` ${l.text} `, remove);
  };

  box.append(h('span', { class: 'label' }, 'labels'), list);
  if (d.labelsError) {
    error.textContent = d.labelsError;
    box.append(error);
    return box;
  }
  showLabels(d.labels);

  const text = h('vscode-textfield', { class: 'label-text', placeholder: 'add a label, e.g. “ends with a year”', 'aria-label': 'New label', maxlength: 200 }) as ValueField;
  // Two choices: radio buttons show both at once, where a dropdown would hide one.
  const kind = h('vscode-radio-group', { class: 'label-kind', 'aria-label': 'Label kind' });
  for (const k of ['shallow', 'semantic'] as const) kind.append(h('vscode-radio', { name: `kind-${d.layer}-${d.key}`, value: k, checked: k === 'shallow' }, k));
  const kindValue = (): LabelKind => (kind.querySelector<HTMLElement & { checked: boolean; value: string }>('vscode-radio[value="semantic"]')?.checked ? 'semantic' : 'shallow');
  const add = h('vscode-button', { 'data-action': 'add-label', secondary: true }, 'Add label');
  const submit = (): void => {
    const value = text.value.trim();
    if (!value) return;
    request('addLabel', { layer: d.layer, key: d.key, text: value, kind: kindValue() }).then((labels) => {
      showLabels(labels);
      text.value = '';
    }, fail);
  };
  add.addEventListener('click', submit);
  text.addEventListener('keydown', (e) => {
    if ((e as KeyboardEvent).key === 'Enter') submit();
  });
  box.append(h('span', { class: 'add-label' }, text, kind, add), error);
  return box;
}
