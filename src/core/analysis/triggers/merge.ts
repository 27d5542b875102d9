/**
 * Merging shard indexes. Shard i of n holds the paragraphs p with p % n === i, so every
 * candidate is in exactly one shard, and the global top-N of a key is the top-N of the
 * union of the shards' top-N lists. With the canonical layout the result is byte for
 * byte the index a single run writes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lockFolder } from '../../io/lock';
import { checkpointFile, readIndex, writeIndex, type IndexContent, type ParagraphTokens, type TriggerIndexInfo } from './format';
import { better, type SortedEntries } from './topn';

/** Every shard must be from the same model, corpus and settings, and together cover 0..n-1 once. */
function checkShards(shards: { dir: string; c: IndexContent }[]): void {
  const first = shards[0].c.info;
  for (const { dir, c } of shards) {
    const i = c.info;
    const s = i.settings.shard;
    if (!s) throw new Error(`${dir} is not a shard (it was built without --shard); only shard indexes can be merged`);
    if (i.model.hash !== first.model.hash) throw new Error(`${dir} was built with ${i.model.name} (hash ${i.model.hash}) but ${shards[0].dir} with ${first.model.name} (hash ${first.model.hash})`);
    if (i.corpus.length !== first.corpus.length || i.corpus.some((f, j) => f.sha256 !== first.corpus[j].sha256)) throw new Error(`${dir} and ${shards[0].dir} were built on different corpus files`);
    if (i.settings.window !== first.settings.window || i.settings.top !== first.settings.top) throw new Error(`${dir} used window ${i.settings.window} / top ${i.settings.top}, ${shards[0].dir} window ${first.settings.window} / top ${first.settings.top}`);
    if (s.count !== first.settings.shard!.count) throw new Error(`${dir} is shard ${s.index}/${s.count} but ${shards[0].dir} is one of ${first.settings.shard!.count}`);
  }
  const n = first.settings.shard!.count;
  const seen = new Map<number, string>();
  for (const { dir, c } of shards) {
    const i = c.info.settings.shard!.index;
    if (seen.has(i)) throw new Error(`shard ${i}/${n} is given twice (${seen.get(i)} and ${dir})`);
    seen.set(i, dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new Error(`shards ${missing.map((i) => `${i}/${n}`).join(', ')} are missing; merge needs all ${n}`);
}

function mergeEntries(parts: SortedEntries[], top: number): SortedEntries {
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
        if (better(p.coeff[i], p.paragraph[i], p.window[i], p.position[i], b.coeff[bi], b.paragraph[bi], b.window[bi], b.position[bi])) best = j;
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

function mergeTokens(parts: ParagraphTokens[], wanted: ReadonlySet<number>): ParagraphTokens {
  const found = new Map<number, Uint32Array>();
  for (const t of parts) {
    t.paragraphs.forEach((p, i) => {
      if (wanted.has(p)) found.set(p, t.ids.subarray(t.offsets[i], t.offsets[i + 1]));
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
  const shards = dirs.map((d) => {
    if (path.resolve(d) === outAbs) throw new Error(`the output folder ${out} is also an input; merge into a new folder`);
    return { dir: d, c: readIndex(path.resolve(d)) };
  });
  checkShards(shards);
  // shard order, not argument order, so the output never depends on how they were listed
  shards.sort((a, b) => a.c.info.settings.shard!.index - b.c.info.settings.shard!.index);
  const first = shards[0].c.info;
  const entries = mergeEntries(
    shards.map((s) => s.c.entries),
    first.settings.top,
  );
  const tokens = mergeTokens(
    shards.map((s) => s.c.tokens),
    new Set(entries.paragraph),
  );
  const sum = (f: (i: TriggerIndexInfo) => number) => shards.reduce((a, s) => a + f(s.c.info), 0);
  const info: TriggerIndexInfo = {
    ...first,
    settings: { ...first.settings, shard: null },
    totals: { paragraphs: sum((i) => i.totals.paragraphs), windows: sum((i) => i.totals.windows), tokens: sum((i) => i.totals.tokens), candidates: sum((i) => i.totals.candidates) },
  };
  fs.mkdirSync(outAbs, { recursive: true });
  const lock = lockFolder(outAbs, 'merging trigger indexes');
  try {
    if (fs.existsSync(checkpointFile(outAbs))) throw new Error(`${out} holds an unfinished index run; merge into another folder`);
    writeIndex(outAbs, info, entries, tokens);
  } finally {
    lock.release();
  }
}
