/**
 * The statistics of signed memories on the planted gated model (layer 0 key 2 fires with
 * m ≈ −16 on "dog" and its value's bottom token is "ran"; key 5 fires positive on "cat";
 * layer 1 key 1 fires negative on "bird", bottom token "sang"): agreement compares a negative
 * trigger's next token with the value's bottom token, ranks count from the bottom, and the
 * composition test reads a memory with m < 0 by the token it promotes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { buildTriggerIndex, computeValueTable, decodeValue, loadModel, openTriggerIndex, paperStatistics, renderReport, tokenRanks, type Model, type TriggerIndex } from '../../src/core';
import { agreementStatistics } from '../../src/core/analysis/statistics/agreement';
import { sliceRows } from '../../src/core/tensor';
import { gatedModel } from '../fixtures/indexV1';
import { writeCorpus } from '../fixtures/plantedCorpus';
import { tempDir } from '../support';

const dir = tempDir();
const planted = gatedModel(dir);
// every "dog" is followed by "ran", every "bird" by "sang" and every "cat" by "sat": what their memories promote
const PARAGRAPHS = ['the dog ran home', 'a bird sang on the tree', 'the cat sat on the mat', 'a red dog ran', 'big bird sang ball', 'the cat sat home'];
const corpus = writeCorpus(dir, 'corpus.txt', PARAGRAPHS);
const words = PARAGRAPHS.join(' ').split(' ');
const count = (w: string) => words.filter((x) => x === w).length;

let shared: Model | undefined;
const model = async () => (shared ??= await loadModel(planted.dir, { noCache: true }));
test.after(async () => shared?.dispose());

/** The signed index of the corpus, built once for the tests that read it. */
let built: Promise<TriggerIndex> | undefined;
const signedIndex = (m: Model) =>
  (built ??= (async () => {
    const out = path.join(dir, 'index');
    await buildTriggerIndex(m, { corpus: [corpus], out, top: 4 });
    return openTriggerIndex(out, m);
  })());

test('token ranks from the bottom equal a brute-force count over the full distribution', async () => {
  const m = await model();
  const V = m.config.vocabSize;
  const keys = [2, 5, 7];
  const targets = [planted.idOf('ran'), planted.idOf('sat'), planted.idOf('tree')];
  const values = m.values(0);
  const rows = { data: Float32Array.from(keys.flatMap((k) => Array.from(sliceRows(values, k, k + 1).data))), shape: [3, values.shape[1]] };
  for (const finalNorm of [false, true]) {
    const ranks = await tokenRanks(m, rows, targets, { finalNorm, from: 'bottom' });
    for (let i = 0; i < keys.length; i++) {
      const all = (await decodeValue(m, 0, keys[i], V, { finalNorm })).top;
      const own = all.find((x) => x.id === targets[i])!.prob;
      assert.equal(ranks[i], 1 + all.filter((x) => x.prob < own).length, `key ${keys[i]} final norm ${finalNorm}`);
    }
  }
  assert.equal((await tokenRanks(m, rows, targets, { from: 'bottom' }))[0], 1, '"ran" is the planted negative value\'s bottom token');
});

test('agreement of a signed index: the negative trigger\'s next token against the value\'s bottom token, apart from the positive side', async () => {
  const m = await model();
  const index = await signedIndex(m);
  const first = index.negativeTriggers(0, 2)![0];
  assert.equal(first.prefix[first.prefix.length - 1], planted.idOf('dog'));
  assert.equal(first.next, planted.idOf('ran'));

  const table = await computeValueTable(m);
  const a = await agreementStatistics(m, table, index);
  const negative = a.negative!;
  assert.equal(negative.length, 2);
  // each layer: the planted negative key agrees on the negative side (its next token is its value's bottom token)
  for (const layer of [0, 1]) {
    assert.ok(negative[layer].agreed >= 1, `layer ${layer}: the planted negative key agrees`);
    assert.equal(negative[layer].keys + negative[layer].skipped, m.config.dFf);
  }
  // the positive side of layer 0 counts the positive plant ("cat" → "sat"), never the negative one
  assert.ok(a.layers[0].agreed >= 1);
  // the unsigned reading of the same index has no negative side at all
  const unsigned = await agreementStatistics(m, table, { triggers: (l, k) => index.triggers(l, k) });
  assert.equal(unsigned.negative, null);
  assert.deepEqual(unsigned.layers, a.layers.map((l) => ({ ...l, shuffledRate: unsigned.layers[l.layer].shuffledRate })));
});

test('composition reads a memory with m < 0 by its value\'s bottom token; the report says how signed memories were counted', async () => {
  const m = await model();
  const index = await signedIndex(m);
  const s = await paperStatistics(m, index, { corpus: [corpus], window: 16, positions: 10_000, threshold: 1, cacheDir: tempDir(), ablation: false, patterns: false });
  const c = s.positions.composition;
  // |m| > 1 only at the planted triggers: "dog" (m < 0) and "cat" (m > 0) in layer 0, "bird" (m < 0) in layer 1
  assert.equal(c[0].positions, count('dog') + count('cat'));
  assert.equal(c[1].positions, count('bird'));
  for (const layer of [0, 1]) {
    assert.equal(c[layer].differs, 0, `layer ${layer}: a lone memory is never a composition, whatever its sign`);
    assert.equal(c[layer].strongestAgrees, 1);
    assert.equal(c[layer].rateRawValues, 0);
  }
  // active = |m| > threshold: the negative triggers count
  assert.equal(s.positions.activity[1].meanCount, count('bird') / words.length);

  assert.equal(s.signed.gated, true);
  assert.equal(s.signed.negativeTriggers, true);
  assert.ok(s.signed.counting.some((x) => /bottom token/.test(x)));
  assert.ok(s.agreement.negative);
  const html = renderReport(s);
  assert.match(html, /<section id="signed">/);
  assert.match(html, /Negative triggers: value bottom token = next token/);
});
