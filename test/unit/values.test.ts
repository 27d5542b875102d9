/**
 * Values decoded into the vocabulary: the planted memory's value decodes to its promoted
 * token, the batched table agrees with single decoding, and the table's disk cache
 * round-trips, rejects damage clearly, rebuilds, and is never left half-written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { computeValueTable, decodeValue, loadModel, readKey, readValue, readValueTable, valueTable, valueTablePath, ValueTableFileError, type Model } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { sharedOrSkip, tempDir } from '../support';

const planted = writePlantedModel({
  words: ['apple', 'banana', 'cherry', 'dog', 'egg'],
  plants: [
    { layer: 1, key: 3, trigger: 'apple', promotes: 'dog' },
    { layer: 0, key: 6, trigger: 'banana', promotes: 'egg' },
  ],
});

let shared: Model | undefined;
const model = async () => (shared ??= await loadModel(planted.dir, { noCache: true }));
test.after(async () => shared?.dispose());

const tableKey = (m: Model, finalNorm = false) => ({ modelHash: m.info.hash, finalNorm, nLayers: m.config.nLayers, dFf: m.config.dFf, vocabSize: m.config.vocabSize, k: Math.min(50, m.config.vocabSize) });

test('the planted value decodes to its promoted token, with and without the final norm', async () => {
  const m = await model();
  for (const finalNorm of [false, true]) {
    const v = await decodeValue(m, 1, 3, 3, { finalNorm });
    assert.equal(v.top[0].text, 'dog');
    assert.ok(v.top[0].prob > 0.5, `p(dog) = ${v.top[0].prob}`);
    assert.notEqual(v.bottom[0].text, 'dog');
  }
  assert.equal((await decodeValue(m, 0, 6, 1)).top[0].text, 'egg');
});

test('the value table holds every memory: planted ones top their promoted token, and it matches decodeValue', async () => {
  const m = await model();
  const t = await computeValueTable(m, { batchSize: 3 });
  assert.equal(t.size, 2 * 8);
  assert.equal(t.k, m.config.vocabSize, 'k is capped by the vocabulary');
  assert.equal(t.topId(1, 3), planted.idOf('dog'));
  assert.equal(t.topId(0, 6), planted.idOf('egg'));
  assert.ok(t.maxProb(1, 3) > 0.5);
  assert.equal(t.maxProb(1, 3), t.top(1, 3)[0].prob);
  for (const [layer, key] of [[1, 3], [0, 6], [1, 0]]) {
    const d = await decodeValue(m, layer, key, t.k);
    assert.deepEqual(t.top(layer, key).map((x) => x.prob), d.top.map((x) => x.prob));
    assert.deepEqual(t.bottom(layer, key).map((x) => x.prob), d.bottom.map((x) => x.prob));
  }
  assert.throws(() => t.topId(2, 0), /layer 2 is outside 0..1/);
  assert.throws(() => t.topId(0, 8), /key 8 is outside 0..7/);
});

test('the table cache round-trips exactly and is keyed by the final-norm setting', async () => {
  const m = await model();
  const cacheDir = tempDir();
  const built = await valueTable(m, { cacheDir });
  const file = valueTablePath(cacheDir, tableKey(m));
  assert.ok(fs.existsSync(file));
  assert.deepEqual(fs.readdirSync(path.dirname(file)), [path.basename(file)], 'no temporary file left');
  const read = await valueTable(m, { cacheDir, onProgress: () => assert.fail('a cached table must not be recomputed') });
  assert.deepEqual(read.data, built.data);
  const normed = await valueTable(m, { cacheDir, finalNorm: true });
  assert.equal(normed.finalNorm, true);
  assert.ok(fs.existsSync(valueTablePath(cacheDir, tableKey(m, true))));
  assert.throws(() => readValueTable(file, { ...tableKey(m), modelHash: 'another' }), /built for modelHash/);
});

test('a damaged cache file is a clear error, and valueTable rebuilds it', async () => {
  const m = await model();
  const cacheDir = tempDir();
  const good = await valueTable(m, { cacheDir });
  const file = valueTablePath(cacheDir, tableKey(m));
  const bytes = fs.readFileSync(file);

  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 5] ^= 0xff;
  fs.writeFileSync(file, flipped);
  assert.throws(() => readValueTable(file, tableKey(m)), (e: Error) => e instanceof ValueTableFileError && /unusable: checksum mismatch/.test(e.message) && e.message.includes(file));
  const problems: string[] = [];
  const rebuilt = await valueTable(m, { cacheDir, onCacheProblem: (p) => problems.push(p) });
  assert.equal(problems.length, 1);
  assert.match(problems[0], /checksum mismatch.*rebuilding/);
  assert.deepEqual(rebuilt.data, good.data);
  assert.deepEqual(fs.readFileSync(file), bytes, 'the rebuilt file is the original');

  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 100));
  assert.throws(() => readValueTable(file, tableKey(m)), /truncated/);
  fs.writeFileSync(file, 'not a table');
  assert.throws(() => readValueTable(file, tableKey(m)), /bad magic/);
});

test('cancelling the table leaves no cache file', async () => {
  const m = await model();
  const cacheDir = tempDir();
  const ac = new AbortController();
  let calls = 0;
  await assert.rejects(
    valueTable(m, { cacheDir, batchSize: 2, signal: ac.signal, onProgress: () => (++calls === 2 ? ac.abort() : undefined) }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.equal(calls, 2);
  const dir = path.join(cacheDir, 'values');
  assert.deepEqual(fs.existsSync(dir) ? fs.readdirSync(dir) : [], []);
});

test('gpt2-books: the batched table equals single decoding', async (t) => {
  const dir = sharedOrSkip(t, 'models', 'gpt2-books');
  if (!dir) return;
  const m = await loadModel(dir, { cacheDir: tempDir() });
  try {
    const table = await computeValueTable(m, { k: 10 });
    assert.equal(table.size, 8 * 1024);
    for (const [layer, key] of [[0, 0], [3, 511], [7, 1023]]) {
      const d = await decodeValue(m, layer, key, 10);
      assert.deepEqual(table.top(layer, key).map((x) => x.id), d.top.map((x) => x.id));
      assert.deepEqual(table.bottom(layer, key).map((x) => x.id), d.bottom.map((x) => x.id));
    }
  } finally {
    await m.dispose();
  }
});

test('readings in embedding space agree with decodeValue: same tokens, same p, scores ranked with z over the vocabulary', async () => {
  const m = await model();
  for (const finalNorm of [false, true]) {
    for (const [layer, key] of [[1, 3], [0, 6], [1, 0]]) {
      const decoded = await decodeValue(m, layer, key, 3, { finalNorm });
      const read = readValue(m, layer, key, 3, { finalNorm });
      assert.deepEqual(read.top.map((t) => t.id), decoded.top.map((t) => t.id), `L${layer}/${key} top`);
      read.top.forEach((t, i) => assert.ok(Math.abs(t.prob - decoded.top[i].prob) < 1e-5, `p ${t.prob} vs ${decoded.top[i].prob}`));
      read.top.forEach((t, i) => assert.equal(t.rank, i + 1));
      read.bottom.forEach((t, i) => assert.equal(t.rank, m.config.vocabSize - i));
      // an unplanted value is zero: every score equal, no spread, z 0
      for (const t of [...read.top, ...read.bottom]) assert.ok(Math.abs(t.z - (read.std > 0 ? (t.score - read.mean) / read.std : 0)) < 1e-9);
    }
  }
  // a key reads its trigger: the planted key of layer 0 is banana's embedding direction
  assert.equal(readKey(m, 0, 6, 1).top[0].text, 'banana');
  assert.throws(() => readKey(m, 2, 0), /layer 2 is outside 0\.\.1/);
});
