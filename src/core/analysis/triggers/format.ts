/**
 * What a trigger index holds and how it is laid out. One file, `triggers.idx`, per index
 * folder: the header (format version, model, corpus files with their sha256, settings,
 * totals), every key's top-N entries best-first, and the token ids of the paragraphs those
 * entries point into. The layout is canonical (fixed header key order, entries sorted,
 * coefficients as raw float32 bits), so equal content means byte-identical files: that is
 * what makes shard + merge checkable against a single run.
 *
 * Versions. 1: one side, every key's top-N by coefficient. 2 (signed, for gated FFNs,
 * whose m = act(gate)·up is negative about half the time): the top-N with m > 0 and,
 * after them, the N most negative (m < 0, most negative first), header `settings.signed`.
 * Unsigned indexes are still written as version 1, byte for byte what earlier versions
 * wrote, so older FFN Lens versions keep reading them; they refuse a version 2 file with
 * their "rebuild" message instead of misreading it. A version 1 index of a gated model
 * reads as having no negative side (null, never an empty list).
 */
import * as path from 'node:path';
import type { CorpusFile } from './corpus';
import { readContainer, readContainerHeader, writeContainer, type SectionReader } from './container';
import type { SortedEntries } from './topn';

export const INDEX_FORMAT = 'ffn-lens-trigger-index';
/** Unsigned indexes. */
export const INDEX_VERSION = 1;
/** Signed indexes (gated FFNs): both sides. */
export const SIGNED_INDEX_VERSION = 2;
const INDEX_MAGIC = 'FFNLTRIX';
const CHECKPOINT_MAGIC = 'FFNLTCKP';

export const indexFile = (dir: string) => path.join(dir, 'triggers.idx');
export const checkpointFile = (dir: string) => path.join(dir, 'checkpoint.bin');
export const spoolFile = (dir: string) => path.join(dir, 'tokens.spool');

export interface IndexedModel {
  name: string;
  hash: string;
  /** Where the model was loaded from when indexed: the CLI's default for --model. */
  source: string;
  nLayers: number;
  dFf: number;
  vocabSize: number;
  contextSize: number;
}

export interface Shard {
  index: number;
  count: number;
}

export interface IndexSettings {
  window: number;
  top: number;
  /** null for a whole-corpus index (a single run, or merged shards). */
  shard: Shard | null;
  /**
   * Both sides kept: the top-N with m > 0 and the N most negative (gated FFNs; format
   * version 2). On disk only in signed headers: absent (or false) means unsigned, as every
   * version 1 index is; checkInfo sets it either way.
   */
  signed?: boolean;
}

export interface IndexTotals {
  /** Paragraphs this index covers (its shard's share). */
  paragraphs: number;
  windows: number;
  /** Tokens run through the model. */
  tokens: number;
  /** Positions that were candidates (non-special tokens). */
  candidates: number;
}

export interface TriggerIndexInfo {
  format: string;
  version: number;
  model: IndexedModel;
  corpus: CorpusFile[];
  /** Paragraphs in the whole corpus. */
  corpusParagraphs: number;
  settings: IndexSettings;
  totals: IndexTotals;
}

/** Token ids of the paragraphs that hold a trigger, sorted by paragraph. */
export interface ParagraphTokens {
  paragraphs: Uint32Array;
  /** offsets[i]..offsets[i+1] delimit paragraph i's ids; length paragraphs + 1. */
  offsets: Uint32Array;
  ids: Uint32Array;
}

/** The format version of an index with these settings. */
export const versionFor = (s: Pick<IndexSettings, 'signed'>): number => (s.signed ? SIGNED_INDEX_VERSION : INDEX_VERSION);

/**
 * The header as written, in canonical key order whatever order the input object had; an
 * unsigned header has no `signed` key, so it is byte for byte a version 1 header.
 */
function canonicalHeader(i: TriggerIndexInfo): unknown {
  const m = i.model;
  const s = i.settings;
  const shard = s.shard ? { index: s.shard.index, count: s.shard.count } : null;
  return {
    format: INDEX_FORMAT,
    version: versionFor(s),
    model: { name: m.name, hash: m.hash, source: m.source, nLayers: m.nLayers, dFf: m.dFf, vocabSize: m.vocabSize, contextSize: m.contextSize },
    corpus: i.corpus.map((f) => ({ path: f.path, format: f.format, field: f.field, sha256: f.sha256, bytes: f.bytes, firstParagraph: f.firstParagraph, paragraphs: f.paragraphs, skipped: f.skipped })),
    corpusParagraphs: i.corpusParagraphs,
    settings: s.signed ? { window: s.window, top: s.top, shard, signed: true } : { window: s.window, top: s.top, shard },
    totals: { paragraphs: i.totals.paragraphs, windows: i.totals.windows, tokens: i.totals.tokens, candidates: i.totals.candidates },
  };
}

/** Entries as one interleaved array of 4 words (coefficient bits, paragraph, window, position). */
function interleave(e: SortedEntries): Uint32Array {
  const n = e.coeff.length;
  const out = new Uint32Array(4 * n);
  const bits = new Uint32Array(e.coeff.buffer, e.coeff.byteOffset, n);
  for (let i = 0; i < n; i++) {
    out[4 * i] = bits[i];
    out[4 * i + 1] = e.paragraph[i];
    out[4 * i + 2] = e.window[i];
    out[4 * i + 3] = e.position[i];
  }
  return out;
}

/**
 * Version 1: [nKeys, nEntries, nParagraphs, nIds], counts, entries, paragraphs, offsets, ids.
 * Version 2 adds the negative side: [nKeys, nEntries, nNegative, nParagraphs, nIds], counts,
 * entries, negative counts, negative entries, paragraphs, offsets, ids.
 */
export function writeIndex(dir: string, info: TriggerIndexInfo, entries: SortedEntries, tokens: ParagraphTokens, negative: SortedEntries | null = null): void {
  if (!!info.settings.signed !== (negative !== null)) throw new Error(`internal: a ${info.settings.signed ? 'signed' : 'unsigned'} index ${negative ? 'with' : 'without'} a negative side`);
  const t = [tokens.paragraphs, tokens.offsets, tokens.ids];
  const sections = negative
    ? [Uint32Array.of(entries.nKeys, entries.coeff.length, negative.coeff.length, tokens.paragraphs.length, tokens.ids.length), entries.counts, interleave(entries), negative.counts, interleave(negative), ...t]
    : [Uint32Array.of(entries.nKeys, entries.coeff.length, tokens.paragraphs.length, tokens.ids.length), entries.counts, interleave(entries), ...t];
  writeContainer(indexFile(dir), INDEX_MAGIC, canonicalHeader(info), sections);
}

export interface IndexContent {
  info: TriggerIndexInfo;
  /** The top-N by coefficient (of a signed index: with m > 0), best first. */
  entries: SortedEntries;
  /** A signed index's N most negative coefficients, most negative first; null when the index has no negative side. */
  negative: SortedEntries | null;
  tokens: ParagraphTokens;
}

/**
 * Checks the parts of the header every reader relies on; a clear error otherwise. The
 * result has `settings.signed` set either way (false for version 1).
 */
export function checkInfo(file: string, h: unknown): TriggerIndexInfo {
  const i = h as Partial<TriggerIndexInfo>;
  if (i?.format !== INDEX_FORMAT) throw new Error(`${file} is not a trigger index`);
  if (i.version !== INDEX_VERSION && i.version !== SIGNED_INDEX_VERSION) {
    throw new Error(`${file} has trigger-index format version ${String(i.version)}; this FFN Lens reads versions ${INDEX_VERSION} and ${SIGNED_INDEX_VERSION}; rebuild the index`);
  }
  if (!i.model || !i.settings || !i.totals || !Array.isArray(i.corpus)) throw new Error(`${file} is damaged: its header lacks model, corpus, settings or totals`);
  const signed = i.version === SIGNED_INDEX_VERSION;
  if ((i.settings.signed === true) !== signed) throw new Error(`${file} is damaged: format version ${i.version} with settings.signed ${String(i.settings.signed)}`);
  return { ...(i as TriggerIndexInfo), settings: { ...i.settings, signed } };
}

/** Reads one side's counts and interleaved entries. */
function readEntries(file: string, sections: SectionReader, nKeys: number, nEntries: number): SortedEntries {
  const counts = sections.u32(nKeys).slice();
  const words = sections.u32(4 * nEntries);
  const starts = new Uint32Array(nKeys + 1);
  for (let k = 0; k < nKeys; k++) starts[k + 1] = starts[k] + counts[k];
  if (starts[nKeys] !== nEntries) throw new Error(`${file} is damaged: key counts do not add up to ${nEntries} entries`);
  const entries: SortedEntries = { nKeys, counts, starts, coeff: new Float32Array(nEntries), paragraph: new Uint32Array(nEntries), window: new Uint32Array(nEntries), position: new Uint32Array(nEntries) };
  const bits = new Uint32Array(entries.coeff.buffer);
  for (let i = 0; i < nEntries; i++) {
    bits[i] = words[4 * i];
    entries.paragraph[i] = words[4 * i + 1];
    entries.window[i] = words[4 * i + 2];
    entries.position[i] = words[4 * i + 3];
  }
  return entries;
}

export function readIndex(dir: string): IndexContent {
  const file = indexFile(dir);
  const { header, sections } = readContainer(file, INDEX_MAGIC, 'a trigger index');
  const info = checkInfo(file, header);
  const signed = info.settings.signed;
  const sizes = sections.u32(signed ? 5 : 4);
  const [nKeys, nEntries] = sizes;
  const [nNegative, nParagraphs, nIds] = signed ? sizes.subarray(2) : [0, sizes[2], sizes[3]];
  if (nKeys !== info.model.nLayers * info.model.dFf) throw new Error(`${file} is damaged: ${nKeys} keys, but the header says ${info.model.nLayers} × ${info.model.dFf}`);
  const entries = readEntries(file, sections, nKeys, nEntries);
  const negative = signed ? readEntries(file, sections, nKeys, nNegative) : null;
  const tokens: ParagraphTokens = { paragraphs: sections.u32(nParagraphs), offsets: sections.u32(nParagraphs + 1), ids: sections.u32(nIds) };
  sections.done();
  return { info, entries, negative, tokens };
}

/** A run's state at a paragraph boundary: enough to continue exactly where it stopped. */
export interface Checkpoint {
  info: TriggerIndexInfo;
  /** Every paragraph before this one has been processed (or belongs to another shard). */
  nextParagraph: number;
  /** Valid length of the token spool; anything after it is discarded on resume. */
  spoolBytes: number;
  /** sha256 of those bytes (checkpoints written before it was recorded lack it). */
  spoolSha256?: string;
  /** The heaps as they were (heap order, not sorted). */
  store: HeapArrays;
  /** A signed run's heaps of −m (see TopNStore); null for an unsigned run. */
  negative: HeapArrays | null;
}

/** A TopNStore's arrays, as a checkpoint keeps them. */
export interface HeapArrays {
  n: number;
  count: Uint32Array;
  coeff: Float32Array;
  paragraph: Uint32Array;
  window: Uint32Array;
  position: Uint32Array;
}

const heapSections = (s: HeapArrays) => [s.count, s.coeff, s.paragraph, s.window, s.position];

export function writeCheckpoint(dir: string, c: Checkpoint): void {
  if (!!c.info.settings.signed !== (c.negative !== null)) throw new Error('internal: a checkpoint whose sides do not match its settings');
  const header = { info: canonicalHeader(c.info), nextParagraph: c.nextParagraph, spoolBytes: c.spoolBytes, spoolSha256: c.spoolSha256, n: c.store.n };
  writeContainer(checkpointFile(dir), CHECKPOINT_MAGIC, header, [...heapSections(c.store), ...(c.negative ? heapSections(c.negative) : [])]);
}

export function readCheckpoint(dir: string): Checkpoint {
  const file = checkpointFile(dir);
  const { header, sections } = readContainer(file, CHECKPOINT_MAGIC, 'a trigger-index checkpoint');
  const h = header as { info: unknown; nextParagraph: number; spoolBytes: number; spoolSha256?: string; n: number };
  const info = checkInfo(file, h.info);
  const nKeys = info.model.nLayers * info.model.dFf;
  const slots = nKeys * h.n;
  const heaps = (): HeapArrays => ({ n: h.n, count: sections.u32(nKeys).slice(), coeff: sections.f32(slots).slice(), paragraph: sections.u32(slots).slice(), window: sections.u32(slots).slice(), position: sections.u32(slots).slice() });
  const store = heaps();
  const negative = info.settings.signed ? heaps() : null;
  sections.done();
  return { info, nextParagraph: h.nextParagraph, spoolBytes: h.spoolBytes, spoolSha256: h.spoolSha256, store, negative };
}

/** An index's header alone (unverified; see readContainerHeader): for status displays. */
export function readIndexInfo(dir: string): TriggerIndexInfo {
  const file = indexFile(dir);
  return checkInfo(file, readContainerHeader(file, INDEX_MAGIC, 'a trigger index'));
}

/** A checkpoint's header alone: what it covers and where it stopped, for status displays. */
export function readCheckpointInfo(dir: string): { info: TriggerIndexInfo; nextParagraph: number } {
  const file = checkpointFile(dir);
  const h = readContainerHeader(file, CHECKPOINT_MAGIC, 'a trigger-index checkpoint') as { info: unknown; nextParagraph: number };
  return { info: checkInfo(file, h.info), nextParagraph: h.nextParagraph };
}
