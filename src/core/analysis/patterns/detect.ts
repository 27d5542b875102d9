/**
 * Automatic labelling of a key's top triggers, after the categories of Geva et al. (2021).
 * Patterns about the key's input, its trigger prefixes: shallow ones (the same trigger
 * token, the same final n-gram, a shared content token in the last few positions) and a
 * semantic hint (a topic word shared across paragraphs). Apart from those, output hints
 * (a shared next token, the key's value agreeing with the next tokens) describe what
 * follows the prefix, not the prefix: they are reported on their own and never counted
 * as semantic, since the agreement statistic already measures the same thing. As in the
 * paper, a pattern counts when it covers at least 3 of the key's top 25 triggers.
 *
 * These are hints for a person, not ground truth: the paper's labels came from experts,
 * and null.ts measures how often each detector fires on random positions. Stopwords and
 * punctuation are left out of every token pattern (a trigger token, an n-gram made only
 * of them, a recent token, a next token) and of topic words, because nearly every prefix
 * has them, so they would "cover" triggers without saying anything.
 */
import type { Model } from '../../model';
import { sliceRows } from '../../tensor';
import { isContentWord, normalizeWord } from './stopwords';
import { nullCoverage, type NullOptions } from './null';
import type { Trigger, TriggerIndex } from '../triggers';
import { VocabProjector } from '../vocab';
import { ClusteredRatio, type Interval } from '../statistics/intervals';
import { seededRandom } from '../statistics/sample';

/** shallow and semantic describe the prefix; output hints describe what follows it. */
export type PatternKind = 'shallow' | 'semantic' | 'output';
export type PatternType = 'trigger-token' | 'final-ngram' | 'recent-token' | 'next-token' | 'value-agreement' | 'topic-word';

const TYPE_ORDER: readonly PatternType[] = ['trigger-token', 'final-ngram', 'recent-token', 'next-token', 'value-agreement', 'topic-word'];
const KIND: Record<PatternType, PatternKind> = {
  'trigger-token': 'shallow',
  'final-ngram': 'shallow',
  'recent-token': 'shallow',
  'next-token': 'output',
  'value-agreement': 'output',
  'topic-word': 'semantic',
};

export interface Pattern {
  kind: PatternKind;
  type: PatternType;
  /** For people, e.g. `ends with " New York"`. */
  label: string;
  /** The defining token ids: the n-gram, the shared token, the next token(s); empty for a topic word. */
  tokens: number[];
  /** The topic word (lower case), for 'topic-word'. */
  word?: string;
  /** Indices of the covered triggers in the key's list (best first). */
  covers: number[];
}

export interface KeyPatterns {
  layer: number;
  key: number;
  /** Triggers considered (the top `top`, fewer on a small corpus). */
  triggers: number;
  patterns: Pattern[];
  /** Triggers covered by at least one prefix pattern (shallow or semantic), by a shallow one, by a semantic one. */
  covered: number;
  coveredShallow: number;
  coveredSemantic: number;
  /** Triggers covered by an output hint (next token, value agreement), not counted in `covered`. */
  coveredOutput: number;
}

/** How much of a set of keys' triggers the patterns cover. */
export interface Coverage {
  /** Keys that have triggers. */
  keys: number;
  triggers: number;
  /** Mean number of prefix patterns per key. */
  patternsPerKey: number;
  /** Share of keys with at least one prefix pattern. */
  keysWithPattern: number;
  /** Share of triggers covered by at least one prefix pattern / a shallow one / a semantic one. */
  covered: number;
  coveredShallow: number;
  coveredSemantic: number;
  /** Share of triggers covered by an output hint (not a prefix pattern). */
  coveredOutput: number;
  /** Share of triggers covered by each detector. */
  coveredByType: Record<PatternType, number>;
  /** Share of the prefix patterns that are shallow / semantic. */
  shallowShare: number;
  semanticShare: number;
  /** Bootstrap 95% interval of `covered`, resampling keys. */
  ci95: Interval;
}

export interface LayerPatterns extends Coverage {
  layer: number;
  /**
   * The same detectors on random corpus positions taken 25 at a time as if they were a
   * key's triggers (null.ts): what coverage chance alone gives. Null when not computed.
   */
  randomPositions: Coverage | null;
}

export interface PatternOptions {
  /** Triggers considered per key (default 25, as in the paper). */
  top?: number;
  /** Triggers a pattern must cover to count (default 3, as in the paper). */
  minCover?: number;
  /** "The last few positions": tokens before the trigger searched for a shared token (default 5). */
  recent?: number;
  /** Size of the value's top-token list the next tokens are checked against (default 10). */
  valueK?: number;
  /** At most this many recent-token and topic-word patterns each per key (default 3). */
  maxPerType?: number;
}

/** What pattern finding needs of a tokenizer. */
export interface PatternVocab {
  tokenText(id: number): string;
  decode(ids: number[]): string;
  isSpecial(id: number): boolean;
}

const quote = (s: string) => JSON.stringify(s);

function groupBy(n: number, keyOf: (i: number) => string | undefined): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const k = keyOf(i);
    if (k === undefined) continue;
    const g = groups.get(k);
    if (g) g.push(i);
    else groups.set(k, [i]);
  }
  return groups;
}

const covers = (a: readonly number[], b: readonly number[]) => b.every((x) => a.includes(x));
const sameSet = (a: readonly number[], b: readonly number[]) => a.length === b.length && covers(a, b);

/** Best coverage first, then a fixed order, so the output is deterministic. */
function byCoverage<T extends { covers: number[]; label: string }>(a: T, b: T): number {
  return b.covers.length - a.covers.length || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
}

function finalNgrams(ts: readonly Trigger[], vocab: PatternVocab, minCover: number): Pattern[] {
  const found: Pattern[] = [];
  for (let n = 1; n <= 3; n++) {
    const groups = groupBy(ts.length, (i) => (ts[i].prefix.length >= n ? ts[i].prefix.slice(-n).join(',') : undefined));
    for (const [k, idx] of groups) {
      if (idx.length < minCover) continue;
      const tokens = k.split(',').map(Number);
      // "ends with ' of the'" says nothing: an n-gram needs a content token
      if (!tokens.some((id) => isContent(vocab, id))) continue;
      const type: PatternType = n === 1 ? 'trigger-token' : 'final-ngram';
      const label = n === 1 ? `trigger token ${quote(vocab.tokenText(tokens[0]))}` : `ends with ${quote(vocab.decode(tokens))}`;
      found.push({ kind: 'shallow', type, label, tokens, covers: idx });
    }
  }
  // the most specific description wins: drop an n-gram when a longer one covers the same triggers
  return found.filter((p) => !found.some((q) => q.tokens.length > p.tokens.length && sameSet(q.covers, p.covers)));
}

const isContent = (vocab: PatternVocab, id: number) => !vocab.isSpecial(id) && isContentWord(vocab.tokenText(id));

function recentTokens(ts: readonly Trigger[], vocab: PatternVocab, ngrams: readonly Pattern[], o: Required<PatternOptions>): Pattern[] {
  const holders = new Map<number, number[]>();
  ts.forEach((t, i) => {
    const before = t.prefix.slice(Math.max(0, t.prefix.length - 1 - o.recent), t.prefix.length - 1);
    for (const id of new Set(before)) {
      if (!isContent(vocab, id)) continue;
      const h = holders.get(id);
      if (h) h.push(i);
      else holders.set(id, [i]);
    }
  });
  const found: Pattern[] = [];
  for (const [id, idx] of holders) {
    if (idx.length < o.minCover) continue;
    // already said by an n-gram that contains the token and covers these triggers
    if (ngrams.some((p) => p.tokens.length > 1 && p.tokens.includes(id) && covers(p.covers, idx))) continue;
    found.push({ kind: 'shallow', type: 'recent-token', label: `${quote(vocab.tokenText(id))} in the last ${o.recent} tokens`, tokens: [id], covers: idx });
  }
  return found.sort(byCoverage).slice(0, o.maxPerType);
}

function nextTokens(ts: readonly Trigger[], vocab: PatternVocab, minCover: number): Pattern[] {
  const groups = groupBy(ts.length, (i) => {
    const n = ts[i].next;
    return n === null || !isContent(vocab, n) ? undefined : String(n);
  });
  const found: Pattern[] = [];
  for (const [k, idx] of groups) {
    if (idx.length >= minCover) found.push({ kind: 'output', type: 'next-token', label: `next token ${quote(vocab.tokenText(Number(k)))}`, tokens: [Number(k)], covers: idx });
  }
  return found;
}

function valueAgreement(ts: readonly Trigger[], vocab: PatternVocab, valueTop: readonly number[], minCover: number): Pattern[] {
  const top = new Set(valueTop);
  const idx = ts.flatMap((t, i) => (t.next !== null && top.has(t.next) ? [i] : []));
  if (idx.length < minCover) return [];
  const hit = new Set(idx.map((i) => ts[i].next!));
  const tokens = valueTop.filter((id) => hit.has(id));
  const label = `next token among the value's top ${valueTop.length}: ${tokens.map((id) => quote(vocab.tokenText(id))).join(', ')}`;
  return [{ kind: 'output', type: 'value-agreement', label, tokens, covers: idx }];
}

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;

function topicWords(ts: readonly Trigger[], vocab: PatternVocab, o: Required<PatternOptions>): Pattern[] {
  const holders = new Map<string, { idx: number[]; paragraphs: Set<number> }>();
  ts.forEach((t, i) => {
    // the context before the trigger: the trigger token itself is the shallow patterns' subject
    const context = t.prefix.slice(0, -1);
    const words = new Set(((context.length ? vocab.decode(context) : '').match(WORD) ?? []).map(normalizeWord).filter((w) => w.length >= 3 && isContentWord(w)));
    for (const w of words) {
      const h = holders.get(w) ?? { idx: [], paragraphs: new Set<number>() };
      h.idx.push(i);
      h.paragraphs.add(t.paragraph);
      holders.set(w, h);
    }
  });
  const found: Pattern[] = [];
  for (const [word, h] of holders) {
    // prefixes from one paragraph share its words trivially: a topic must recur across paragraphs
    if (h.paragraphs.size >= o.minCover) found.push({ kind: 'semantic', type: 'topic-word', label: `topic word ${quote(word)}`, tokens: [], word, covers: h.idx });
  }
  return found.sort(byCoverage).slice(0, o.maxPerType);
}

export function withDefaults(o: PatternOptions): Required<PatternOptions> {
  return { top: o.top ?? 25, minCover: o.minCover ?? 3, recent: o.recent ?? 5, valueK: o.valueK ?? 10, maxPerType: o.maxPerType ?? 3 };
}

/**
 * The patterns of one key's triggers (best first). `valueTop`: the key's value's top
 * tokens (ids), for the value-agreement hint; omit it to skip that hint.
 */
export function findPatterns(triggers: readonly Trigger[], vocab: PatternVocab, valueTop?: readonly number[], opts: PatternOptions = {}): Pattern[] {
  const o = withDefaults(opts);
  const ts = triggers.slice(0, o.top);
  const ngrams = finalNgrams(ts, vocab, o.minCover);
  const all = [...ngrams, ...recentTokens(ts, vocab, ngrams, o), ...nextTokens(ts, vocab, o.minCover), ...(valueTop ? valueAgreement(ts, vocab, valueTop, o.minCover) : []), ...topicWords(ts, vocab, o)];
  return all.sort((a, b) => b.covers.length - a.covers.length || TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type) || byCoverage(a, b));
}

/** Triggers covered by the patterns that pass `keep`. */
const coverage = (patterns: readonly Pattern[], keep: (p: Pattern) => boolean) => new Set(patterns.filter(keep).flatMap((p) => p.covers)).size;

/** Patterns plus how many triggers they cover. */
export function summarizeKey(layer: number, key: number, triggers: number, patterns: Pattern[]): KeyPatterns {
  const kind = (k: PatternKind) => coverage(patterns, (p) => p.kind === k);
  return { layer, key, triggers, patterns, covered: coverage(patterns, (p) => p.kind !== 'output'), coveredShallow: kind('shallow'), coveredSemantic: kind('semantic'), coveredOutput: kind('output') };
}

/** Coverage of a set of keys' triggers (keys without triggers left out). */
export function coverageOf(keys: readonly KeyPatterns[], rand: () => number): Coverage {
  const withTriggers = keys.filter((k) => k.triggers > 0);
  const triggers = withTriggers.reduce((a, k) => a + k.triggers, 0);
  const prefix = (k: KeyPatterns) => k.patterns.filter((p) => p.kind !== 'output');
  const patterns = withTriggers.reduce((a, k) => a + prefix(k).length, 0);
  const shallow = withTriggers.reduce((a, k) => a + k.patterns.filter((p) => p.kind === 'shallow').length, 0);
  const share = (f: (k: KeyPatterns) => number) => (triggers ? withTriggers.reduce((a, k) => a + f(k), 0) / triggers : 0);
  const covered = new ClusteredRatio();
  withTriggers.forEach((k, i) => covered.add(i, k.covered, k.triggers));
  return {
    keys: withTriggers.length,
    triggers,
    patternsPerKey: withTriggers.length ? patterns / withTriggers.length : 0,
    keysWithPattern: withTriggers.length ? withTriggers.filter((k) => prefix(k).length > 0).length / withTriggers.length : 0,
    covered: share((k) => k.covered),
    coveredShallow: share((k) => k.coveredShallow),
    coveredSemantic: share((k) => k.coveredSemantic),
    coveredOutput: share((k) => k.coveredOutput),
    coveredByType: Object.fromEntries(TYPE_ORDER.map((t) => [t, share((k) => coverage(k.patterns, (p) => p.type === t))])) as Record<PatternType, number>,
    shallowShare: patterns ? shallow / patterns : 0,
    semanticShare: patterns ? (patterns - shallow) / patterns : 0,
    ci95: covered.ci95(rand),
  };
}

/** A layer's coverage; the null is added by layerPatterns when asked for. */
export function summarizeLayer(layer: number, keys: readonly KeyPatterns[]): LayerPatterns {
  return { layer, ...coverageOf(keys, seededRandom(layer + 1)), randomPositions: null };
}

/** Top-k token ids of the value vectors of keys start..start+count-1 (no final norm, as in the paper). */
async function valueTops(model: Model, layer: number, start: number, count: number, k: number): Promise<number[][]> {
  const projector = await VocabProjector.for(model);
  const values = model.values(layer);
  const out: number[][] = [];
  // in slices, so a large layer never materialises all its vocabulary scores at once
  const SLICE = 256;
  for (let s = start; s < start + count; s += SLICE) {
    const e = Math.min(start + count, s + SLICE);
    const p = await projector.project(sliceRows(values, s, e), k);
    for (let i = 0; i < e - s; i++) out.push(Array.from(p.top.ids.subarray(i * k, (i + 1) * k)));
  }
  return out;
}

/** Patterns of one key, from an index opened with this model. */
export async function keyPatterns(model: Model, index: TriggerIndex, layer: number, key: number, opts: PatternOptions = {}): Promise<KeyPatterns> {
  const o = withDefaults(opts);
  const triggers = index.triggers(layer, key);
  const [top] = await valueTops(model, layer, key, 1, o.valueK);
  return summarizeKey(layer, key, Math.min(o.top, triggers.length), findPatterns(triggers, model.tokenizer, top, o));
}

/** Patterns of every key of a layer, with the layer's summary and, given a corpus pool, its null. */
export async function layerPatterns(
  model: Model,
  index: TriggerIndex,
  layer: number,
  opts: PatternOptions & { randomPositions?: NullOptions; onProgress?: (fraction: number) => void } = {},
): Promise<{ summary: LayerPatterns; keys: KeyPatterns[] }> {
  const o = withDefaults(opts);
  const dFf = index.info.model.dFf;
  const tops = await valueTops(model, layer, 0, dFf, o.valueK);
  const keys: KeyPatterns[] = [];
  for (let key = 0; key < dFf; key++) {
    const triggers = index.triggers(layer, key);
    keys.push(summarizeKey(layer, key, Math.min(o.top, triggers.length), findPatterns(triggers, model.tokenizer, tops[key], o)));
    if (key % 64 === 63) opts.onProgress?.((key + 1) / dFf);
  }
  const summary = summarizeLayer(layer, keys);
  if (opts.randomPositions) summary.randomPositions = nullCoverage(model.tokenizer, tops, o, opts.randomPositions, layer);
  return { summary, keys };
}
