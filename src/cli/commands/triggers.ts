/**
 * `ffn-lens triggers`: a key's top trigger examples from an index, with the trigger token
 * marked. For a gated model's signed index, the negative triggers (m < 0) follow as their
 * own list with the value's bottom tokens, which the memory promotes there.
 */
import { decodeValue, NEGATIVE_SIDE_ABSENT, type Model } from '../../core';
import type { Trigger, TriggerIndex } from '../../core/analysis/triggers';
import { parse } from '../args';
import { indexOptions, openIndexWithModel, requiredInt } from '../indexArgs';
import { processIo, type Io } from '../io';
import { modelOptions } from '../load';
import { printable, table } from '../table';

export const usage = 'triggers --index DIR --layer L --key K [--json] [--model M]';

/** Characters of context shown before the trigger in the human output. */
const CONTEXT_CHARS = 60;
/** Bottom tokens of the value named beside the negative triggers. */
const PROMOTED_TOKENS = 5;

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

function triggerTable(model: Model, triggers: Trigger[]): string {
  const rows = triggers.map((t, n) => {
    const d = describeTrigger(model, t);
    const context = printable(d.prefixText);
    const clipped = context.length > CONTEXT_CHARS ? `…${context.slice(-CONTEXT_CHARS)}` : context;
    const next = d.nextToken ? `"${printable(d.nextToken.text)}"` : '(end of paragraph)';
    return [String(n + 1), t.coeff.toFixed(3), String(t.paragraph), String(t.window), String(t.position), `${clipped}⟦${printable(d.trigger.text)}⟧ → ${next}`];
  });
  return table(['#', 'coeff', 'paragraph', 'window', 'pos', 'prefix ⟦trigger⟧ → next'], rows);
}

/** What the negative side holds for the key: its triggers and the tokens it promotes, or null when the index keeps none. */
interface NegativeSide {
  triggers: Trigger[];
  promotes: { id: number; text: string }[];
}

function human(index: TriggerIndex, model: Model, layer: number, key: number, triggers: Trigger[], negative: NegativeSide | null): string {
  const i = index.info;
  const corpus = i.corpus.map((f) => f.path.split(/[\\/]/).pop()).join(', ');
  const head = `${i.model.name} · layer ${layer} · key ${key}: ${triggers.length} ${negative ? 'positive ' : ''}triggers (index of ${corpus}, window ${i.settings.window})`;
  const out = [head, triggerTable(model, triggers)];
  if (negative) {
    const promotes = negative.promotes.map((t) => `"${printable(t.text)}"`).join(', ');
    out.push(
      `fires negative on ${negative.triggers.length} triggers (m < 0, most negative first), promoting its value's bottom tokens ${promotes}:`,
      negative.triggers.length ? triggerTable(model, negative.triggers) : '(no position of the corpus gives it m < 0)',
    );
  } else if (model.config.gated) out.push(`negative triggers: ${NEGATIVE_SIDE_ABSENT}`);
  return out.join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, { ...modelOptions, ...indexOptions });
  const layer = requiredInt(values, 'layer');
  const key = requiredInt(values, 'key');
  const { index, model } = await openIndexWithModel(values, io);
  try {
    const triggers = index.triggers(layer, key);
    const negativeTriggers = index.negativeTriggers(layer, key);
    const negative = negativeTriggers && { triggers: negativeTriggers, promotes: (await decodeValue(model, layer, key, PROMOTED_TOKENS)).bottom.map(({ id, text }) => ({ id, text })) };
    if (values.json) {
      const i = index.info;
      io.out(
        JSON.stringify({
          index: index.dir,
          model: i.model.name,
          layer,
          key,
          window: i.settings.window,
          // signed: the index keeps negative triggers; when false, negativeTriggers is null (absent), never []
          signed: index.signed,
          triggers: triggers.map((t) => describeTrigger(model, t)),
          negativeTriggers: negative ? negative.triggers.map((t) => describeTrigger(model, t)) : null,
          promotesWhenNegative: negative ? negative.promotes : null,
        }) + '\n',
      );
    } else io.out(human(index, model, layer, key, triggers, negative) + '\n');
  } finally {
    await model.dispose();
  }
}
