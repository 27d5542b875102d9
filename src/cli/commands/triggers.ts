/** `ffn-lens triggers`: a key's top trigger examples from an index, with the trigger token marked. */
import type { Model } from '../../core';
import type { Trigger, TriggerIndex } from '../../core/analysis/triggers';
import { parse } from '../args';
import { indexOptions, openIndexWithModel, requiredInt } from '../indexArgs';
import { processIo, type Io } from '../io';
import { modelOptions } from '../load';
import { printable, table } from '../table';

export const usage = 'triggers --index DIR --layer L --key K [--json] [--model M]';

/** Characters of context shown before the trigger in the human output. */
const CONTEXT_CHARS = 60;

export function describeTrigger(model: Model, t: Trigger) {
  const tok = model.tokenizer;
  const context = t.prefix.slice(0, -1);
  // (some tokenizers refuse to decode an empty list)
  const before = context.length ? tok.decode(context) : '';
  const trigger = t.prefix[t.prefix.length - 1];
  return {
    ...t,
    prefixText: before,
    trigger: { id: trigger, text: tok.tokenText(trigger) },
    nextToken: t.next === null ? null : { id: t.next, text: tok.tokenText(t.next) },
  };
}

function human(index: TriggerIndex, model: Model, layer: number, key: number, triggers: Trigger[]): string {
  const i = index.info;
  const corpus = i.corpus.map((f) => f.path.split(/[\\/]/).pop()).join(', ');
  const head = `${i.model.name} · layer ${layer} · key ${key}: ${triggers.length} triggers (index of ${corpus}, window ${i.settings.window})`;
  const rows = triggers.map((t, n) => {
    const d = describeTrigger(model, t);
    const context = printable(d.prefixText);
    const clipped = context.length > CONTEXT_CHARS ? `…${context.slice(-CONTEXT_CHARS)}` : context;
    const next = d.nextToken ? `"${printable(d.nextToken.text)}"` : '(end of paragraph)';
    return [String(n + 1), t.coeff.toFixed(3), String(t.paragraph), String(t.window), String(t.position), `${clipped}⟦${printable(d.trigger.text)}⟧ → ${next}`];
  });
  return [head, table(['#', 'coeff', 'paragraph', 'window', 'pos', 'prefix ⟦trigger⟧ → next'], rows)].join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, { ...modelOptions, ...indexOptions });
  const layer = requiredInt(values, 'layer');
  const key = requiredInt(values, 'key');
  const { index, model } = await openIndexWithModel(values, io);
  try {
    const triggers = index.triggers(layer, key);
    if (values.json) {
      io.out(JSON.stringify({ index: index.dir, model: index.info.model.name, layer, key, window: index.info.settings.window, triggers: triggers.map((t) => describeTrigger(model, t)) }) + '\n');
    } else io.out(human(index, model, layer, key, triggers) + '\n');
  } finally {
    await model.dispose();
  }
}
