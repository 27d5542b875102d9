// Worker side of the trigger index: building it (cancellable, resumable), opening it once per
// folder and model, and turning a key's triggers and patterns into the protocol's plain views.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as core from '../../core/index';
import type { BuildIndexParams, EngineProgress, IndexFolderState } from '../engineProtocol';
import type { NegativeTriggers, PatternsView, TriggerExampleView, TriggerIndexSummary } from '../../protocol';

export function summaryOf(index: core.TriggerIndex): TriggerIndexSummary {
  const i = index.info;
  return {
    dir: index.dir,
    model: i.model.name,
    corpus: i.corpus.map((f) => f.path),
    paragraphs: i.totals.paragraphs,
    tokens: i.totals.tokens,
    top: i.settings.top,
    window: i.settings.window,
    signed: index.signed,
  };
}

/**
 * Opened indexes, one per folder, reopened when the file changes on disk (a rebuild, or the CLI
 * writing it meanwhile). Cleared when the model changes: an index is only valid for its model.
 */
export class IndexCache {
  private readonly open = new Map<string, { mtimeMs: number; index: core.TriggerIndex }>();

  get(model: core.Model, dir: string): core.TriggerIndex {
    const abs = path.resolve(dir);
    const file = core.indexFile(abs);
    if (!fs.existsSync(file) && fs.existsSync(core.checkpointFile(abs))) {
      throw new Error(`${abs} holds an unfinished trigger index: run "FFN Lens: Build Trigger Index…" with this folder and choose Resume.`);
    }
    const mtimeMs = fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1;
    const hit = this.open.get(abs);
    if (hit && hit.mtimeMs === mtimeMs) return hit.index;
    // The core's message names both models when the index was built with another one.
    const index = core.openTriggerIndex(abs, model);
    this.open.set(abs, { mtimeMs, index });
    return index;
  }

  clear(): void {
    this.open.clear();
  }
}

export function folderState(model: core.Model, dir: string): IndexFolderState {
  const abs = path.resolve(dir);
  if (!fs.existsSync(abs)) return { state: 'missing' };
  if (!fs.statSync(abs).isDirectory()) return { state: 'other' };
  if (fs.existsSync(core.checkpointFile(abs))) return { state: 'checkpoint' };
  if (fs.existsSync(core.indexFile(abs))) {
    const index = core.openTriggerIndex(abs);
    return { state: 'index', summary: summaryOf(index), sameModel: index.info.model.hash === model.info.hash };
  }
  return { state: fs.readdirSync(abs).length === 0 ? 'empty' : 'other' };
}

export function discardCheckpoint(dir: string): void {
  // under the folder's lock: never while a CLI run is writing there
  core.discardTriggerIndexRun(dir);
}

export async function buildIndex(
  model: core.Model,
  cache: IndexCache,
  params: BuildIndexParams,
  job: { signal: AbortSignal; progress: (p: EngineProgress) => void },
): Promise<TriggerIndexSummary> {
  await core.buildTriggerIndex(model, {
    corpus: params.corpus,
    out: params.out,
    top: params.top,
    window: params.window,
    resume: params.resume,
    signal: job.signal,
    onProgress: (p) =>
      job.progress({
        stage: 'index',
        fraction: p.totalTokens ? Math.min(1, p.tokens / p.totalTokens) : undefined,
        message: `${p.tokens} tokens`,
        index: { tokens: p.tokens, totalTokens: p.totalTokens, tokensPerSecond: p.tokensPerSecond, etaSeconds: p.etaSeconds, paragraphs: p.paragraphs },
      }),
  });
  return summaryOf(cache.get(model, params.out));
}

/**
 * A trigger as the panel shows it: the prefix decoded as a whole (so multi-byte characters split
 * across tokens come out right), with the trigger token's span found by decoding the prefix
 * without it; where that is not a prefix of the whole (a split character), the token's own text
 * is appended instead.
 */
export function exampleView(tok: core.Tokenizer, t: core.Trigger): TriggerExampleView {
  const last = t.prefix[t.prefix.length - 1];
  // (a trigger at a window's first position has no text before it; decode([]) may throw)
  const before = t.prefix.length > 1 ? tok.decode(t.prefix.slice(0, -1)) : '';
  const full = tok.decode(t.prefix);
  const text = full.startsWith(before) ? full : before + tok.tokenText(last);
  return {
    text,
    start: before.length,
    end: text.length,
    next: t.next === null ? null : { id: t.next, text: tok.tokenText(t.next) },
    coeff: t.coeff,
    paragraph: t.paragraph,
    window: t.window,
    position: t.position,
  };
}

/** Bottom tokens of the value shown beside the negative triggers: what −|m|·v promotes. */
const PROMOTED_TOKENS = 5;

/** A gated memory's negative triggers, or why there are none to show; null for an ungated model. */
async function negativeTriggers(model: core.Model, index: core.TriggerIndex, layer: number, key: number): Promise<NegativeTriggers> {
  const negative = index.negativeTriggers(layer, key);
  if (!negative) return model.config.gated ? { absent: core.NEGATIVE_SIDE_ABSENT } : null;
  const value = await core.decodeValue(model, layer, key, PROMOTED_TOKENS);
  return { triggers: negative.map((t) => exampleView(model.tokenizer, t)), promotes: value.bottom.map(({ id, text }) => ({ id, text })) };
}

export async function memoryTriggers(
  model: core.Model,
  index: core.TriggerIndex,
  layer: number,
  key: number,
): Promise<{ summary: TriggerIndexSummary; triggers: TriggerExampleView[]; negative: NegativeTriggers; patterns: PatternsView }> {
  const triggers = index.triggers(layer, key);
  const negative = await negativeTriggers(model, index, layer, key);
  // valueK capped by the vocabulary, as paperStatistics does: a tiny model's vocabulary may be smaller.
  const kp = await core.keyPatterns(model, index, layer, key, { valueK: Math.min(10, model.config.vocabSize) });
  return {
    summary: summaryOf(index),
    triggers: triggers.map((t) => exampleView(model.tokenizer, t)),
    negative,
    patterns: {
      triggers: kp.triggers,
      covered: kp.covered,
      coveredShallow: kp.coveredShallow,
      coveredSemantic: kp.coveredSemantic,
      coveredOutput: kp.coveredOutput,
      patterns: kp.patterns.map((p) => ({ kind: p.kind, type: p.type, label: p.label, covers: [...p.covers] })),
    },
  };
}
