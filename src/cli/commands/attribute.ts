/**
 * `ffn-lens attribute`: why the model predicts a token at a position — direct logit
 * attribution to the embeddings, every attention and FFN output and every memory, with
 * the top memories checked by switching them off.
 */
import { attribute, checkByAblation, singleTokenId, tokensFor, tracePosition, type AblationCheck, type Attribution, type Model } from '../../core';
import { inputText, intOption, parse, textOptions, UsageError } from '../args';
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';
import { printable, table } from '../table';

export const usage = 'attribute --model M (--text T | --file F) [--position P] [--target TOKEN | --target-id N] [--contrast TOKEN | --contrast-id N] [--top K] [--check N] [--json]';

/** A token from --NAME (text, one token) or --NAME-id (an id); undefined when neither is given. */
function tokenOption(model: Model, values: Record<string, unknown>, name: string): number | undefined {
  const text = values[name] as string | undefined;
  const id = values[`${name}-id`];
  if (text !== undefined && id !== undefined) throw new UsageError(`give --${name} or --${name}-id, not both`);
  if (text !== undefined) return singleTokenId(model, text, name);
  return id === undefined ? undefined : intOption(values, `${name}-id`, 0, 0);
}

const signed = (x: number) => (x >= 0 ? '+' : '') + x.toFixed(3);

function human(a: Attribution, tokenText: string, checks: AblationCheck[]): string {
  const vs = a.contrast ? ` − "${printable(a.contrast.text)}" (id ${a.contrast.id})` : '';
  const out = [`position ${a.position} "${printable(tokenText)}": logit of "${printable(a.target.text)}" (id ${a.target.id})${vs} = ${a.logit.toFixed(3)}${a.note ? ` (${a.note})` : ''}`, ''];
  const layers = [...new Set(a.components.filter((c) => c.layer !== null).map((c) => c.layer!))];
  const score = (layer: number, kind: string) => a.components.find((c) => c.layer === layer && c.kind === kind)!.score;
  const fixed = a.components.filter((c) => c.layer === null).map((c) => `${c.name} ${signed(c.score)}`);
  out.push(`components (final norm frozen at the position; they sum to the logit): ${fixed.join('  ')}`);
  out.push(table(['layer', 'attention', 'FFN', 'FFN bias'], layers.map((l) => [String(l), signed(score(l, 'attn')), signed(score(l, 'mlp')), signed(a.ffnBias[l])])));
  const checked = new Map(checks.map((c) => [`${c.layer}:${c.key}`, c]));
  out.push('', 'memories by |score| (score = coefficient × value·readout); switched off at this position: predicted / actual logit change');
  out.push(
    table(
      ['layer', 'key', 'coeff', 'score', 'switched off'],
      a.memories.map((m) => {
        const c = checked.get(`${m.layer}:${m.key}`);
        return [String(m.layer), String(m.key), m.coeff.toFixed(3), signed(m.score), c ? `${signed(c.predicted)} / ${signed(c.actual)}` : ''];
      }),
    ),
  );
  return out.join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, {
    ...modelOptions,
    ...textOptions,
    position: { type: 'string', short: 'p' },
    target: { type: 'string' },
    'target-id': { type: 'string' },
    contrast: { type: 'string' },
    'contrast-id': { type: 'string' },
    top: { type: 'string', short: 'k' },
    check: { type: 'string' },
    json: { type: 'boolean' },
  });
  const text = inputText(values);
  const top = intOption(values, 'top', 20);
  const checkCount = intOption(values, 'check', 5, 0);
  const model = await loadFromArgs(values, io);
  try {
    const tokens = tokensFor(model, text);
    const position = intOption(values, 'position', tokens.length - 1, 0);
    if (position >= tokens.length) throw new UsageError(`--position ${position} is outside 0..${tokens.length - 1} (the text is ${tokens.length} tokens)`);
    const target = tokenOption(model, values, 'target');
    const contrast = tokenOption(model, values, 'contrast') ?? null;
    const trace = await tracePosition(model, tokens.map((t) => t.id), position);
    const a = attribute(model, trace, { target, contrast, top });
    const checks = await checkByAblation(model, trace, a, a.memories.slice(0, checkCount));
    if (values.json) {
      const byKey = new Map(checks.map((c) => [`${c.layer}:${c.key}`, c]));
      const memories = a.memories.map((m) => {
        const c = byKey.get(`${m.layer}:${m.key}`);
        return c ? { ...m, ablation: { predicted: c.predicted, actual: c.actual } } : m;
      });
      const { position: p, target: tg, contrast: ct, logit, note, components, ffnBias } = a;
      io.out(JSON.stringify({ position: p, target: tg, contrast: ct, logit, note, components, memories, ffnBias }) + '\n');
    } else {
      io.out(human(a, tokens[position].text, checks) + '\n');
    }
  } finally {
    await model.dispose();
  }
}
