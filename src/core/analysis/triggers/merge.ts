/**
 * Merging shard indexes. Shard i of n holds the paragraphs p with p % n === i, so every
 * candidate is in exactly one shard, and the global top-N of a key is the top-N of the
 * union of the shards' top-N lists; a signed index's negative side merges the same way,
 * most negative first. With the canonical layout the result is byte for byte the index
 * a single run writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockFolder } from '../../io/lock';
import { corpusDifference } from './corpus';
import { checkpointFile, indexFile, readIndex, writeIndex, type IndexContent, type ParagraphTokens, type TriggerIndexInfo } from './format';
import { better, type SortedEntries } from './topn';

/** What the first pass keeps of a shard: its header and entries, not its tokens. */
interface ShardEntries {
  dir: string;
  info: TriggerIndexInfo;
  entries: SortedEntries;
  negative: SortedEntries | null;
}

const sides = (i: TriggerIndexInfo) => (i.settings.signed ? 'signed (both signs: a gated model, format version 2)' : 'unsigned (format version 1)');

/**
 * How shard b differs from shard a in what must be equal for a merge (model, corpus,
 * settings, shard count), in words; undefined when they belong together.
 */
function mismatch(a: TriggerIndexInfo, b: TriggerIndexInfo): string | undefined {
  if (a.model.hash !== b.model.hash) return `model: ${a.model.name} (hash ${a.model.hash}) against ${b.model.name} (hash ${b.model.hash})`;
  const corpus = corpusDifference(a.corpus, b.corpus);
  if (corpus) return `corpus: ${corpus}`;
  for (const k of ['window', 'top'] as const) if (a.settings[k] !== b.settings[k]) return `--${k} ${a.settings[k]} against ${b.settings[k]}`;
  if (a.settings.shard!.count !== b.settings.shard!.count) return `shard count: ${a.settings.shard!.count} against ${b.settings.shard!.count}`;
  return undefined;
}

/** Every shard must be from the same model, corpus and settings, and together cover 0..n-1 once. */
function checkShards(shards: readonly ShardEntries[]): void {
  const first = shards[0];
  for (const { dir, info } of shards) {
    if (!info.settings.shard) throw new Error(`${dir} is not a shard (it was built without --shard); only shard indexes can be merged`);
  }
  for (const { dir, info } of shards.slice(1)) {
    // same model, other sides: shards written by FFN Lens versions before and after signed indexes
    if (!!info.settings.signed !== !!first.info.settings.signed) {
      const unsigned = info.settings.signed ? first.dir : dir;
      throw new Error(`${first.dir} is ${sides(first.info)} but ${dir} is ${sides(info)}; signed and unsigned shards cannot be merged: rebuild ${unsigned} with this FFN Lens`);
    }
    const diff = mismatch(first.info, info);
    if (diff) throw new Error(`${first.dir} and ${dir} do not belong to one index; they differ in ${diff}`);
  }
  const n = first.info.settings.shard!.count;
  const seen = new Map<number, string>();
  for (const { dir, info } of shards) {
    const i = info.settings.shard!.index;
    if (seen.has(i)) throw new Error(`shard ${i}/${n} is given twice (${seen.get(i)} and ${dir})`);
    seen.set(i, dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new Error(`shards ${missing.map((i) => `${i}/${n}`).join(', ')} are missing; merge needs all ${n}`);
}

/** A shard folder's index, with a clear word when the shard has not finished. */
function readShard(dir: string): IndexContent {
  const abs = path.resolve(dir);
  if (!fs.existsSync(indexFile(abs))) {
    if (fs.existsSync(checkpointFile(abs))) throw new Error(`${dir} is unfinished (it holds a checkpoint, no index); finish it with \`ffn-lens index … --resume\` (\`ffn-lens index-status ${dir}\` shows how far it got)`);
    throw new Error(`${dir} holds no trigger index`);
  }
  return readIndex(abs);
}

/**
 * The top-N of each key over the shards' sorted lists; `sign` −1 for a negative side,
 * whose lists run from the most negative coefficient.
 */
function mergeEntries(parts: SortedEntries[], top: number, sign: 1 | -1): SortedEntries {
  const nKeys = parts[0].nKeys;
  const counts = new Uint32Array(nKeys);
  for (let k = 0; k < nKeys; k++) counts[k] = Math.min(top, parts.reduce((a, p) => a + p.counts[k], 0));
  const starts = new Uint32Array(nKeys + 1);
  for (let k = 0; k < nKeys; k++) starts[k + 1] = starts[k] + counts[k];
  const total = starts[nKeys];
  const out: SortedEntries = { nKeys, counts, starts, coeff: new Float32Array(total), paragraph: new Uint32Array(total), window: new Uint32Array(total), position: new Uint32Array(total) };
  const cursor = new Uint32Array(parts.length);
  for (let k = 0; k < nKeys; k++) {
    parts.forEach((p, j) => (cursor[j] = p.starts[k]));
    // k-way merge of sorted lists: take the best head each time
    for (let dst = starts[k]; dst < starts[k + 1]; dst++) {
      let best = -1;
      for (let j = 0; j < parts.length; j++) {
        const p = parts[j];
        const i = cursor[j];
        if (i >= p.starts[k + 1]) continue;
        if (best < 0) {
          best = j;
          continue;
        }
        const b = parts[best];
        const bi = cursor[best];
        if (better(sign * p.coeff[i], p.paragraph[i], p.window[i], p.position[i], sign * b.coeff[bi], b.paragraph[bi], b.window[bi], b.position[bi])) best = j;
      }
      const p = parts[best];
      const i = cursor[best]++;
      out.coeff[dst] = p.coeff[i];
      out.paragraph[dst] = p.paragraph[i];
      out.window[dst] = p.window[i];
      out.position[dst] = p.position[i];
    }
  }
  return out;
}

/**
 * The token ids of the wanted paragraphs, read shard by shard (a second read of each file,
 * so only one shard's tokens are in memory at a time, besides the ones kept).
 */
function collectTokens(shards: readonly ShardEntries[], wanted: ReadonlySet<number>): ParagraphTokens {
  const found = new Map<number, Uint32Array>();
  for (const s of shards) {
    const c = readShard(s.dir);
    if (JSON.stringify(c.info) !== JSON.stringify(s.info)) throw new Error(`${s.dir} changed while it was being merged; merge again`);
    const t = c.tokens;
    t.paragraphs.forEach((p, i) => {
      if (wanted.has(p)) found.set(p, t.ids.slice(t.offsets[i], t.offsets[i + 1]));
    });
  }
  const paragraphs = Uint32Array.from([...wanted].sort((a, b) => a - b));
  const offsets = new Uint32Array(paragraphs.length + 1);
  paragraphs.forEach((p, i) => {
    const ids = found.get(p);
    if (!ids) throw new Error(`a shard lacks the tokens of paragraph ${p}; is one of them damaged?`);
    offsets[i + 1] = offsets[i] + ids.length;
  });
  const ids = new Uint32Array(offsets[paragraphs.length]);
  paragraphs.forEach((p, i) => ids.set(found.get(p)!, offsets[i]));
  return { paragraphs, offsets, ids };
}

export async function mergeTriggerIndexes(dirs: string[], out: string): Promise<void> {
  if (dirs.length === 0) throw new Error('merge needs the shard index folders to combine');
  const outAbs = path.resolve(out);
  // entries first (every shard's are needed at once); tokens in a second pass, once the kept paragraphs are known
  const shards: ShardEntries[] = dirs.map((d) => {
    if (path.resolve(d) === outAbs) throw new Error(`the output folder ${out} is also an input; merge into a new folder`);
    const { info, entries, negative } = readShard(d);
    return { dir: d, info, entries, negative };
  });
  checkShards(shards);
  // shard order, not argument order, so the output never depends on how they were listed
  shards.sort((a, b) => a.info.settings.shard!.index - b.info.settings.shard!.index);
  const first = shards[0].info;
  const entries = mergeEntries(
    shards.map((s) => s.entries),
    first.settings.top,
    1,
  );
  const negative = first.settings.signed
    ? mergeEntries(
        shards.map((s) => s.negative!),
        first.settings.top,
        -1,
      )
    : null;
  const tokens = collectTokens(shards, new Set([...entries.paragraph, ...(negative?.paragraph ?? [])]));
  const sum = (f: (i: TriggerIndexInfo) => number) => shards.reduce((a, s) => a + f(s.info), 0);
  const info: TriggerIndexInfo = {
    ...first,
    settings: { ...first.settings, shard: null },
    totals: { paragraphs: sum((i) => i.totals.paragraphs), windows: sum((i) => i.totals.windows), tokens: sum((i) => i.totals.tokens), candidates: sum((i) => i.totals.candidates) },
  };
  fs.mkdirSync(outAbs, { recursive: true });
  const lock = lockFolder(outAbs, 'merging trigger indexes');
  try {
    if (fs.existsSync(checkpointFile(outAbs))) throw new Error(`${out} holds an unfinished index run; merge into another folder`);
    writeIndex(outAbs, info, entries, tokens, negative);
  } finally {
    lock.release();
  }
}
