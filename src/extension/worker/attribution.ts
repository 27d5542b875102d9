// The worker's side of "Why this token?": the last sequence's trace is kept, so moving along a
// text, typing another target or a contrast costs no forward pass (attribution alone is
// milliseconds; the trace is one forward pass).

import * as core from '../../core/index';
import type { AttributeParams, AttributionView, TokenChoice } from '../../protocol';

let last: { model: core.Model; key: string; trace: Promise<core.SequenceTrace> } | undefined;

function traceFor(model: core.Model, ids: number[]): Promise<core.SequenceTrace> {
  const key = ids.join(',');
  if (last?.model !== model || last.key !== key) {
    const trace = core.SequenceTrace.run(model, ids);
    last = { model, key, trace };
    trace.catch(() => (last = undefined));
  }
  return last.trace;
}

const tokenId = (model: core.Model, choice: TokenChoice | null, what: string): number | undefined =>
  choice === null ? undefined : 'id' in choice ? choice.id : core.singleTokenId(model, choice.text, what);

export async function attributeAt(model: core.Model, p: AttributeParams): Promise<AttributionView> {
  const trace = (await traceFor(model, p.ids)).at(p.position);
  const a = core.attribute(model, trace, { target: tokenId(model, p.target, 'target'), contrast: tokenId(model, p.contrast, 'contrast') ?? null, top: p.k });
  const view = (m: core.MemoryScore) => ({ layer: m.layer, key: m.key, coeff: m.coeff, score: m.score });
  return {
    position: a.position,
    target: a.target,
    contrast: a.contrast,
    logit: a.logit,
    note: a.note,
    components: a.components.map((c) => ({ name: c.name, kind: c.kind, layer: c.layer, score: c.score })),
    support: core.rankMemories(trace, a.memoryScores, { k: p.k, order: 'support' }).map(view),
    oppose: core.rankMemories(trace, a.memoryScores, { k: p.k, order: 'oppose' }).map(view),
  };
}
