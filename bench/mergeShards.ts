/**
 * npm run bench:merge — merge time and peak memory for 64 shards of a GPT-2-small-shaped
 * index (12 layers × 3,072 memories, top 25, window 128), the shape of a WikiText-103-sized
 * run split 64 ways.
 *
 * The shards are synthesised through the core's own writer (writeIndex), not built by
 * running a model: each holds every key's full top 25 (921,600 entries, as any real shard
 * of a large corpus does) pointing at random paragraphs of its share of a corpus of
 * 64 × PARAGRAPHS paragraphs (default 19,000 each: ~1.2 M paragraphs, ~130 M tokens), with
 * random lengths of 20..200 tokens. Coefficients are random, so which paragraphs the merge
 * keeps is arbitrary, but the work (reading and checking 64 files, a 64-way merge per key,
 * gathering the kept paragraphs' tokens, writing one file) is the real one.
 *
 * Usage: node --import tsx bench/mergeShards.ts [DIR] [PARAGRAPHS]   (DIR default: a temp folder, removed after)
 * The merge runs in a fresh process so its peak RSS is its own.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mergeTriggerIndexes } from '../src/core';
import { seededRandom } from '../src/core/analysis/statistics/sample';
import { writeIndex, type ParagraphTokens, type TriggerIndexInfo } from '../src/core/analysis/triggers/format';
import type { SortedEntries } from '../src/core/analysis/triggers/topn';

const SHARDS = 64;
const LAYERS = 12;
const D_FF = 3072;
const TOP = 25;
const VOCAB = 50257;
const WINDOW = 128;

function shardInfo(index: number, paragraphs: number, tokens: number): TriggerIndexInfo {
  return {
    format: 'ffn-lens-trigger-index',
    version: 1,
    model: { name: 'gpt2-small-shaped (synthetic)', hash: '0'.repeat(32), source: '/synthetic/gpt2-small', nLayers: LAYERS, dFf: D_FF, vocabSize: VOCAB, contextSize: 1024 },
    corpus: [{ path: '/synthetic/corpus.txt', format: 'text', sha256: '0'.repeat(64), bytes: 0, firstParagraph: 0, paragraphs: SHARDS * paragraphs, skipped: 0 }],
    corpusParagraphs: SHARDS * paragraphs,
    settings: { window: WINDOW, top: TOP, shard: { index, count: SHARDS } },
    totals: { paragraphs, windows: paragraphs, tokens, candidates: tokens },
  };
}

function writeShard(dir: string, index: number, paragraphs: number): void {
  const rand = seededRandom(1000 + index);
  const lengths = Array.from({ length: paragraphs }, () => 20 + Math.floor(rand() * 181));
  const nKeys = LAYERS * D_FF;
  const n = nKeys * TOP;
  const e: SortedEntries = { nKeys, counts: new Uint32Array(nKeys).fill(TOP), starts: Uint32Array.from({ length: nKeys + 1 }, (_, k) => k * TOP), coeff: new Float32Array(n), paragraph: new Uint32Array(n), window: new Uint32Array(n), position: new Uint32Array(n) };
  const used = new Set<number>();
  for (let k = 0; k < nKeys; k++) {
    const coeffs = Array.from({ length: TOP }, () => 10 * rand()).sort((a, b) => b - a);
    for (let j = 0; j < TOP; j++) {
      const i = k * TOP + j;
      const local = Math.floor(rand() * paragraphs);
      used.add(local);
      e.coeff[i] = coeffs[j];
      e.paragraph[i] = index + SHARDS * local;
      e.position[i] = Math.floor(rand() * Math.min(WINDOW, lengths[local]));
    }
  }
  const kept = [...used].sort((a, b) => a - b);
  const offsets = new Uint32Array(kept.length + 1);
  kept.forEach((l, i) => (offsets[i + 1] = offsets[i] + lengths[l]));
  const ids = new Uint32Array(offsets[kept.length]);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rand() * VOCAB);
  const tokens: ParagraphTokens = { paragraphs: Uint32Array.from(kept, (l) => index + SHARDS * l), offsets, ids };
  fs.mkdirSync(dir, { recursive: true });
  writeIndex(dir, shardInfo(index, paragraphs, lengths.reduce((a, b) => a + b, 0)), e, tokens);
}

async function main(): Promise<void> {
  if (process.argv[2] === '--merge-only') {
    const [, , , out, ...dirs] = process.argv;
    const t0 = performance.now();
    await mergeTriggerIndexes(dirs, out);
    console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
    return;
  }
  const given = process.argv[2];
  const root = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-merge-bench-'));
  const paragraphs = Number(process.argv[3] ?? 19000);
  try {
    const dirs = Array.from({ length: SHARDS }, (_, i) => path.join(root, `shard-${String(i).padStart(2, '0')}-of-${SHARDS}`));
    const t0 = performance.now();
    dirs.forEach((d, i) => fs.existsSync(path.join(d, 'triggers.idx')) || writeShard(d, i, paragraphs));
    const bytes = dirs.reduce((a, d) => a + fs.statSync(path.join(d, 'triggers.idx')).size, 0);
    console.log(`64 synthetic shards: ${(bytes / 2 ** 20).toFixed(0)} MiB in ${root} (${((performance.now() - t0) / 1000).toFixed(0)} s to write)`);
    const out = path.join(root, 'merged');
    const r = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', __filename, '--merge-only', out, ...dirs], { encoding: 'utf8' }).trim().split('\n').pop()!);
    const size = fs.statSync(path.join(out, 'triggers.idx')).size;
    console.log(`merge of ${SHARDS} GPT-2-small-shaped shards: ${r.seconds.toFixed(1)} s, peak RSS ${r.maxRssMb.toFixed(0)} MB, merged index ${(size / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    if (!given) fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
