/**
 * Builds a trigger-example index: streams the corpus in pools of paragraphs, runs their
 * windows in length-sorted batches, and keeps every key's top-N in bounded heaps. Between
 * pools the state is consistent, which is where cancellation and periodic checkpoints
 * happen; the final index is written atomically, then the checkpoint and spool go.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { candidateHook } from '../../hooks';
import type { Model } from '../../model';
import { corpusDifference, readParagraphs, scanCorpus, type CorpusFile, type ScannedCorpus } from './corpus';
import { checkpointFile, indexFile, INDEX_FORMAT, readCheckpoint, readIndex, spoolFile, versionFor, writeCheckpoint, writeIndex, type Checkpoint, type HeapArrays, type IndexSettings, type Shard, type TriggerIndexInfo } from './format';
import { ProgressMeter, type IndexProgress } from './progress';
import { candidateBounds, scanBatch } from './scan';
import { TokenSpool } from './spool';
import { lockFolder } from '../../io/lock';
import { negated, topNStores, type TopNStore, type TopNStores } from './topn';
import { DEFAULT_BATCH, paddedIds, planBatches, POOL_TOKENS, windowsOf, type BatchLimits, type Window } from './windows';

export const DEFAULT_TOP = 25;
export const DEFAULT_WINDOW = 128;

export interface BuildOptions {
  corpus: string[];
  out: string;
  /** Triggers kept per key (default 25; on resume, the checkpoint's). */
  top?: number;
  /** Window size W (default min(128, context); on resume, the checkpoint's). */
  window?: number;
  /** Index only paragraphs p with p % count === index. */
  shard?: Shard;
  /** JSON Lines field / Parquet column holding the text (default "text"). */
  textField?: string;
  /** Told what the corpus scan found (files, formats, skipped records) before indexing starts. */
  onCorpus?: (corpus: ScannedCorpus) => void;
  /** Continue from the checkpoint in `out`. */
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: IndexProgress) => void;
  /** Seconds between checkpoints written in case the process dies (default 60). */
  checkpointSeconds?: number;
  /** Forward-pass batch limits (default DEFAULT_BATCH: 512 tokens, 64 rows). */
  batch?: BatchLimits;
  /** Tokens gathered before batching (default POOL_TOKENS); a checkpoint is possible only between pools. */
  poolTokens?: number;
}

/** Cancellation honoured: the run stopped and a checkpoint (this run's or an earlier one) is left to resume from. */
export class TriggerIndexAborted extends Error {
  override name = 'AbortError';
  constructor(readonly checkpoint: string) {
    super(`indexing was cancelled; the checkpoint ${checkpoint} lets a run with resume continue`);
  }
}

function validShard(s: Shard | undefined): Shard | null {
  if (!s) return null;
  if (!(Number.isInteger(s.count) && s.count >= 1 && Number.isInteger(s.index) && s.index >= 0 && s.index < s.count)) {
    throw new Error(`shard ${s.index}/${s.count} is invalid: it must be i/n with 0 ≤ i < n`);
  }
  return s.count === 1 ? null : { index: s.index, count: s.count };
}

const sameShard = (a: Shard | null, b: Shard | null) => (a === null ? b === null : b !== null && a.index === b.index && a.count === b.count);
const shardText = (s: Shard | null) => (s ? `${s.index}/${s.count}` : 'none');

function settingsFor(model: Model, opts: BuildOptions, previous?: IndexSettings): IndexSettings {
  const context = model.config.contextSize;
  const window = opts.window ?? previous?.window ?? Math.min(DEFAULT_WINDOW, context);
  const top = opts.top ?? previous?.top ?? DEFAULT_TOP;
  if (!(Number.isInteger(window) && window >= 1)) throw new Error(`window must be a positive integer, got ${window}`);
  if (window > context) throw new Error(`window ${window} exceeds ${model.info.name}'s context of ${context} tokens; use --window ${context} or less`);
  if (!(Number.isInteger(top) && top >= 1)) throw new Error(`top must be a positive integer, got ${top}`);
  const shard = opts.shard ? validShard(opts.shard) : (previous?.shard ?? null);
  // a gated FFN's m is signed: keep its N most negative too (format version 2)
  return { window, top, shard, signed: model.config.gated };
}

const sameFiles = (a: readonly CorpusFile[], b: readonly CorpusFile[]) => corpusDifference(a, b) === undefined;
const sameSettings = (a: IndexSettings, b: IndexSettings) => a.window === b.window && a.top === b.top && sameShard(a.shard, b.shard) && !!a.signed === !!b.signed;

/** The checkpoint must be for this model, corpus and settings; a resumed run may not change them. */
function checkResumable(ck: Checkpoint, model: Model, corpus: ScannedCorpus, settings: IndexSettings, dir: string): void {
  const where = `the checkpoint in ${dir}`;
  if (ck.info.model.hash !== model.info.hash) throw new Error(`${where} was made with ${ck.info.model.name} (hash ${ck.info.model.hash}), not ${model.info.name} (hash ${model.info.hash})`);
  const diff = corpusDifference(ck.info.corpus, corpus.files);
  if (diff) throw new Error(`${where} was made on other corpus files or they changed since (the checkpoint's against now: ${diff}); resume with the same, unchanged files and --text-field`);
  const s = ck.info.settings;
  if (!!s.signed !== !!settings.signed) throw new Error(`${where} keeps ${s.signed ? 'both signs' : 'only the largest coefficients'}, but this FFN Lens indexes ${model.info.name} ${settings.signed ? 'with both signs (a gated FFN)' : 'unsigned'}: it was made by another version; start over without resume`);
  if (!sameSettings(s, settings)) throw new Error(`${where} used --window ${s.window} --top ${s.top} --shard ${shardText(s.shard)}; resume with the same settings (or leave them out)`);
}

/**
 * What a run starts from: a checkpoint to continue, or nothing; 'done' when resuming an
 * index already finished with the same inputs (a no-op, so batch jobs can simply rerun).
 */
function startingPoint(model: Model, opts: BuildOptions, dir: string, corpus: ScannedCorpus): { ck?: Checkpoint; settings: IndexSettings } | 'done' {
  if (fs.existsSync(checkpointFile(dir))) {
    if (!opts.resume) throw new Error(`${dir} holds an unfinished index; continue it with resume (--resume), or delete ${checkpointFile(dir)} to start over`);
    const ck = readCheckpoint(dir);
    const settings = settingsFor(model, opts, ck.info.settings);
    checkResumable(ck, model, corpus, settings, dir);
    return { ck, settings };
  }
  const settings = settingsFor(model, opts);
  if (!opts.resume) return { settings };
  if (fs.existsSync(indexFile(dir))) {
    const done = readIndex(dir).info;
    if (done.model.hash === model.info.hash && sameFiles(done.corpus, corpus.files) && sameSettings(done.settings, settings)) return 'done';
  }
  throw new Error(`${dir} has no checkpoint to resume; run without resume to start the index`);
}

function specialMask(model: Model): Uint8Array {
  const mask = new Uint8Array(model.config.vocabSize);
  for (let id = 0; id < mask.length; id++) if (model.tokenizer.isSpecial(id)) mask[id] = 1;
  return mask;
}

interface Pool {
  paragraphs: Map<number, number[]>;
  windows: Window[];
  tokens: number;
}

const emptyPool = (): Pool => ({ paragraphs: new Map(), windows: [], tokens: 0 });

export async function buildTriggerIndex(model: Model, opts: BuildOptions): Promise<void> {
  const dir = path.resolve(opts.out);
  const corpus = await scanCorpus(opts.corpus, { textField: opts.textField, signal: opts.signal });
  opts.onCorpus?.(corpus);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) throw new Error(`--out ${opts.out} is a file; give a folder for the index`);

  const createdDir = !fs.existsSync(dir);
  fs.mkdirSync(dir, { recursive: true });
  // one writer per folder, from before the checkpoint is read until the last file is written
  const lock = lockFolder(dir, 'building a trigger index');
  let spool: TokenSpool | undefined;
  // leave nothing behind but what was there before, unless a checkpoint (this run's or
  // an earlier one) makes the spool worth keeping; also when the process exits mid-run
  // (a second Ctrl-C, or process.exit from anywhere)
  const abandon = () => {
    spool?.close();
    spool = undefined;
    if (!fs.existsSync(checkpointFile(dir))) fs.rmSync(spoolFile(dir), { force: true });
    lock.release();
    if (createdDir && fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  };
  process.once('exit', abandon);
  try {
    const start = startingPoint(model, opts, dir, corpus);
    if (start === 'done') return abandon();
    const { ck, settings } = start;
    const info: TriggerIndexInfo = {
      format: INDEX_FORMAT,
      version: versionFor(settings),
      model: { name: model.info.name, hash: model.info.hash, source: model.info.source, nLayers: model.config.nLayers, dFf: model.config.dFf, vocabSize: model.config.vocabSize, contextSize: model.config.contextSize },
      corpus: corpus.files,
      corpusParagraphs: corpus.paragraphs,
      settings,
      totals: ck ? { ...ck.info.totals } : { paragraphs: 0, windows: 0, tokens: 0, candidates: 0 },
    };
    const { nLayers, dFf } = model.config;
    const stores = topNStores(nLayers * dFf, settings.top, !!settings.signed);
    if (ck) {
      restore(stores.positive, ck.store);
      if (stores.negative && ck.negative) restore(stores.negative, ck.negative);
    }
    spool = ck ? TokenSpool.resume(spoolFile(dir), { bytes: ck.spoolBytes, sha256: ck.spoolSha256, paragraphLimit: ck.nextParagraph }) : TokenSpool.create(spoolFile(dir));
    await run(model, opts, { dir, corpus, info, stores, spool, nextParagraph: ck?.nextParagraph ?? 0 });
    const entries = stores.positive.sorted();
    // the negative store ranks −m: back to the coefficients themselves, most negative first
    const negative = stores.negative ? negated(stores.negative.sorted()) : null;
    const wanted = new Set([...entries.paragraph, ...(negative?.paragraph ?? [])]);
    writeIndex(dir, info, entries, spool.collect(wanted), negative);
    fs.rmSync(checkpointFile(dir), { force: true });
    abandon();
  } catch (e) {
    abandon();
    throw e;
  } finally {
    process.off('exit', abandon);
  }
}

/** Fills a store from a checkpoint's heaps. */
function restore(store: TopNStore, heaps: HeapArrays): void {
  store.count.set(heaps.count);
  store.coeff.set(heaps.coeff);
  store.paragraph.set(heaps.paragraph);
  store.window.set(heaps.window);
  store.position.set(heaps.position);
  store.restoreThresholds();
}

/** Deletes an unfinished run's checkpoint and spool, so the next build starts over; refused while a run holds the folder. */
export function discardTriggerIndexRun(out: string): void {
  const dir = path.resolve(out);
  const lock = lockFolder(dir, 'discarding an unfinished index run');
  try {
    fs.rmSync(checkpointFile(dir), { force: true });
    fs.rmSync(spoolFile(dir), { force: true });
  } finally {
    lock.release();
  }
}

interface RunState {
  dir: string;
  corpus: ScannedCorpus;
  info: TriggerIndexInfo;
  stores: TopNStores;
  spool: TokenSpool;
  nextParagraph: number;
}

async function run(model: Model, opts: BuildOptions, st: RunState): Promise<void> {
  const { settings, totals } = st.info;
  const { nLayers } = model.config;
  const hooks = Array.from({ length: nLayers }, (_, l) => candidateHook(l));
  const special = specialMask(model);
  const meter = new ProgressMeter(totals.tokens, st.corpus.chars);
  const everyMs = 1000 * (opts.checkpointSeconds ?? 60);
  let lastCheckpoint = performance.now();
  let checkpointed = false;
  let charsRead = 0;

  const checkpoint = () => {
    checkpointed = true;
    st.spool.sync();
    writeCheckpoint(st.dir, { info: st.info, nextParagraph: st.nextParagraph, spoolBytes: st.spool.size, spoolSha256: st.spool.digest(), store: st.stores.positive, negative: st.stores.negative });
    lastCheckpoint = performance.now();
  };

  // Cancelled where the store and the spool agree (between pools): save both and stop.
  const stopHere = () => {
    checkpoint();
    throw new TriggerIndexAborted(checkpointFile(st.dir));
  };

  const processPool = async (pool: Pool, next: number) => {
    const touched = new Set<number>();
    for (const batch of planBatches(pool.windows, opts.batch ?? DEFAULT_BATCH)) {
      // Cancelled inside a pool: its finished batches are in the store but not yet in the spool,
      // so this state cannot be saved; the last checkpoint, if any, stays the point to resume from.
      if (opts.signal?.aborted) {
        if (fs.existsSync(checkpointFile(st.dir))) throw new TriggerIndexAborted(checkpointFile(st.dir));
        throw Object.assign(new Error('indexing was cancelled before its first checkpoint; nothing was kept'), { name: 'AbortError' });
      }
      const bounds = candidateBounds(st.stores, nLayers);
      const out = await model.run(paddedIds(batch), hooks, [], { candidateFloors: bounds.floors, candidateCeilings: bounds.ceilings });
      totals.candidates += scanBatch(st.stores, batch, hooks.map((h) => out.get(h)!), special, touched).candidates;
    }
    // paragraphs in order, so the spool's content does not depend on batching
    for (const [p, ids] of pool.paragraphs) if (touched.has(p)) st.spool.append(p, ids);
    totals.paragraphs += pool.paragraphs.size;
    totals.windows += pool.windows.length;
    totals.tokens += pool.tokens;
    st.nextParagraph = next;
    opts.onProgress?.(meter.report(totals.tokens, totals.paragraphs, charsRead));
    if (opts.signal?.aborted) stopHere();
    // a cancellable run saves its first pool, so a cancel inside any later one has a checkpoint to keep
    if ((opts.signal && !checkpointed) || performance.now() - lastCheckpoint >= everyMs) checkpoint();
  };

  let pool = emptyPool();
  for await (const para of readParagraphs(st.corpus.files)) {
    if (opts.signal?.aborted) stopHere();
    charsRead += para.text.length;
    if (para.index < st.nextParagraph) continue;
    if (settings.shard && para.index % settings.shard.count !== settings.shard.index) continue;
    const ids = model.tokenizer.encode(para.text);
    pool.paragraphs.set(para.index, ids);
    pool.windows.push(...windowsOf(para.index, ids, settings.window));
    pool.tokens += ids.length;
    if (pool.tokens >= (opts.poolTokens ?? POOL_TOKENS)) {
      await processPool(pool, para.index + 1);
      pool = emptyPool();
    }
  }
  await processPool(pool, st.corpus.paragraphs);
}
