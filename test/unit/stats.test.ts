/**
 * The paper's statistics on the planted model, where every number is known: agreement
 * counts the planted memories (with a real trigger index built by `buildTriggerIndex` and
 * with a synthetic lookup), ranks equal a brute-force count, and the position statistics
 * see exactly the planted memory acting alone where its trigger occurs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, computeValueTable, decodeValue, loadModel, openTriggerIndex, paperStatistics, tokenRanks, type Model, type TriggerLookup } from '../../src/core';
import { PositionPool, seededRandom, type SampledWindow } from '../../src/core/analysis/statistics/sample';
import type { Window } from '../../src/core/analysis/triggers/windows';

const samplePositions = (windows: Window[], tok: { isSpecial(id: number): boolean }, n: number, seed = 1): SampledWindow[] => new PositionPool(windows, tok).draw(n, seededRandom(seed));
import { agreementStatistics } from '../../src/core/analysis/statistics/agreement';
import { sliceRows } from '../../src/core/tensor';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';

const planted = writePlantedModel({
  words: ['apple', 'banana', 'cherry', 'dog', 'egg'],
  plants: [
    { layer: 1, key: 3, trigger: 'apple', promotes: 'dog' },
    { layer: 0, key: 6, trigger: 'banana', promotes: 'egg' },
  ],
});
// every trigger word is followed by what its memory promotes at its first occurrence
const CORPUS = 'banana egg apple dog cherry\n\ncherry apple egg\nbanana dog\n\n\napple apple cherry\n';
const corpusFile = path.join(tempDir(), 'corpus.txt');
fs.writeFileSync(corpusFile, CORPUS);
const words = CORPUS.split(/\s+/).filter(Boolean);
const count = (w: string) => words.filter((x) => x === w).length;

let shared: Model | undefined;
const model = async () => (shared ??= await loadModel(planted.dir, { noCache: true }));
test.after(async () => shared?.dispose());

test('token ranks equal a brute-force count over the full distribution', async () => {
  const m = await model();
  const V = m.config.vocabSize;
  const keys = [0, 3, 5];
  const targets = [planted.idOf('dog'), planted.idOf('dog'), planted.idOf('apple')];
  const values = m.values(1);
  const rows = { data: Float32Array.from(keys.flatMap((k) => Array.from(sliceRows(values, k, k + 1).data))), shape: [3, values.shape[1]] };
  for (const finalNorm of [false, true]) {
    const ranks = await tokenRanks(m, rows, targets, { finalNorm });
    for (let i = 0; i < keys.length; i++) {
      const all = (await decodeValue(m, 1, keys[i], V, { finalNorm })).top;
      const own = all.find((x) => x.id === targets[i])!.prob;
      assert.equal(ranks[i], 1 + all.filter((x) => x.prob > own).length, `key ${keys[i]} final norm ${finalNorm}`);
    }
  }
});

test('agreement counts the planted memories, with a trigger index built from a corpus', async () => {
  const m = await model();
  const dir = tempDir();
  await buildTriggerIndex(m, { corpus: [corpusFile], out: dir, top: 5, window: 8 });
  const index = openTriggerIndex(dir, m);
  const top = index.triggers(1, 3)[0];
  assert.equal(top.prefix[top.prefix.length - 1], planted.idOf('apple'), 'the top trigger ends on the trigger word');
  assert.equal(top.next, planted.idOf('dog'));

  const table = await computeValueTable(m);
  const a = await agreementStatistics(m, table, index);
  for (const layer of [0, 1]) {
    const l = a.layers[layer];
    assert.equal(l.agreed, 1, `layer ${layer}: exactly the planted key agrees`);
    assert.equal(l.keys + l.skipped, 8);
    assert.equal(l.rate, 1 / l.keys);
  }
  assert.equal(a.baseline.rate, 1 / m.config.vocabSize);
  assert.equal(a.baseline.meanRank, (m.config.vocabSize + 1) / 2);
  assert.equal(a.calibration.reduce((s, b) => s + b.keys, 0), a.layers[0].keys + a.layers[1].keys);
  assert.equal(a.calibration.reduce((s, b) => s + b.agreed, 0), 2);
  // the planted values are by far the most confident: they sit in the top bin, which agrees
  const last = a.calibration[a.calibration.length - 1];
  assert.ok(last.agreed >= 1 && last.hi > 0.5);
});

test('agreement on a synthetic lookup: skipped keys, rank 1 for the planted key', async () => {
  const m = await model();
  const dog = planted.idOf('dog');
  const lookup: TriggerLookup = {
    triggers: (layer, key) => (layer === 1 && key === 3 ? [{ paragraph: 0, window: 0, position: 0, coeff: 9, prefix: [planted.idOf('apple')], next: dog }] : layer === 1 && key === 4 ? [{ paragraph: 0, window: 0, position: 0, coeff: 1, prefix: [1], next: null }] : []),
  };
  const a = await agreementStatistics(m, await computeValueTable(m), lookup);
  const { ci95, ...rest } = a.layers[1];
  assert.deepEqual({ ...rest, shuffledRate: 0 }, { layer: 1, keys: 1, skipped: 7, agreed: 1, rate: 1, meanRank: 1, medianRank: 1, shuffledRate: 0 });
  // Wilson's interval for n of n: [n/(n+z²), 1]
  assert.ok(Math.abs(ci95[0] - 1 / (1 + 1.96 ** 2)) < 1e-3 && ci95[1] === 1, `ci95 ${ci95}`);
  assert.equal(a.layers[0].keys, 0);
  assert.ok(Number.isNaN(a.layers[0].rate));
});

test('position statistics: the planted memory alone is active at its trigger, and its token wins', async () => {
  const m = await model();
  const index = { triggers: () => [] };
  const s = await paperStatistics(m, index, { corpus: [corpusFile], window: 8, positions: 10_000, cacheDir: tempDir() });
  const p = s.positions;
  assert.equal(p.positions, words.length, 'a sample larger than the corpus takes every position');
  assert.equal(s.corpus.paragraphs, 3);
  const apples = count('apple');
  const bananas = count('banana');
  // layer 1: key 3 is the only memory ever active, exactly at "apple"
  assert.equal(p.activity[1].meanCount, apples / words.length);
  assert.equal(p.composition[1].positions, apples);
  assert.equal(p.composition[1].noActive, words.length - apples);
  assert.equal(p.composition[1].differs, 0, 'a lone memory is never a composition');
  assert.equal(p.composition[1].strongestAgrees, 1);
  assert.equal(p.composition[1].rateRawValues, 0);
  assert.equal(p.composition[0].positions, bananas);
  // at "apple" the residual says "apple", the FFN says "dog", and the output takes the FFN's
  assert.equal(p.residual[1].outcomes.ffn, apples / words.length);
  for (const r of p.residual) assert.ok(Math.abs(Object.values(r.outcomes).reduce((a, b) => a + b, 0) - 1) < 1e-9);
  // threshold as a setting: nothing exceeds a huge one
  const none = await paperStatistics(m, index, { corpus: [corpusFile], window: 8, positions: 5, threshold: 1e6, cacheDir: tempDir() });
  assert.equal(none.positions.activity[1].meanShare, 0);
  assert.equal(none.positions.composition[1].positions, 0);
});

test('position sampling draws positions uniformly over the corpus: distinct, reproducible, spread over windows, every candidate equally likely', () => {
  const tok = { isSpecial: (id: number) => id === 0 };
  const windows = [
    { paragraph: 0, window: 0, ids: [0, 5, 6, 7] },
    { paragraph: 1, window: 0, ids: [8, 9] },
    { paragraph: 1, window: 1, ids: [0] },
  ];
  const all = samplePositions(windows, tok, 100);
  assert.deepEqual(all.map((w) => [w.paragraph, w.window, w.positions]), [[0, 0, [1, 2, 3]], [1, 0, [0, 1]]], 'every candidate, special tokens left out');
  const a = samplePositions(windows, tok, 4, 42);
  assert.deepEqual(a, samplePositions(windows, tok, 4, 42));
  assert.equal(a.reduce((s, w) => s + w.positions.length, 0), 4);
  for (const w of a) assert.deepEqual(w.positions, [...new Set(w.positions)].sort((x, y) => x - y));
  // 20 windows of 5 positions: each position is drawn with probability 25/100, and a
  // sample of 25 falls in many windows (whole windows would give 5)
  const many = Array.from({ length: 20 }, (_, i) => ({ paragraph: i, window: 0, ids: [1, 2, 3, 4, 5] }));
  assert.ok(samplePositions(many, tok, 25, 7).length >= 12, 'the sample spreads over windows');
  const hits = new Map<string, number>();
  for (let seed = 0; seed < 2000; seed++) {
    for (const w of samplePositions(many, tok, 25, seed)) for (const p of w.positions) hits.set(`${w.paragraph}.${p}`, (hits.get(`${w.paragraph}.${p}`) ?? 0) + 1);
  }
  assert.equal(hits.size, 100);
  for (const [k, v] of hits) assert.ok(Math.abs(v / 2000 - 0.25) < 0.05, `${k}: ${v / 2000}`);
});
