/**
 * Search by token: the planted memory is the first hit for its promoted word; the
 * inverted index returns exactly the brute-force ranking over the table (promote and
 * suppress); words map to their first token with and without a leading space.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeValueTable, loadModel, MemorySearch, queryTokens, searchWord, ValueTable, type Tokenizer } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { sharedOrSkip, tempDir } from '../support';

test('search by the promoted word finds the planted memory first', async () => {
  const planted = writePlantedModel({
    words: ['apple', 'banana', 'cherry', 'dog', 'egg'],
    plants: [
      { layer: 1, key: 3, trigger: 'apple', promotes: 'dog' },
      { layer: 0, key: 6, trigger: 'banana', promotes: 'egg' },
    ],
  });
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const search = MemorySearch.build(await computeValueTable(model));
    const dog = searchWord(search, model.tokenizer, 'dog', { limit: 3 });
    assert.deepEqual(dog.tokens, [{ id: planted.idOf('dog'), text: 'dog' }], 'a word-level vocabulary has one token for "dog" and " dog"');
    assert.deepEqual([dog.hits[0].layer, dog.hits[0].key, dog.hits[0].rank], [1, 3, 1]);
    assert.ok(dog.hits[0].prob > 0.5);
    assert.ok(dog.hits.slice(1).every((h) => h.prob < 0.5));
    const egg = searchWord(search, model.tokenizer, 'egg');
    assert.deepEqual([egg.hits[0].layer, egg.hits[0].key], [0, 6]);
    // the planted value pushes every other token down, so it is among the strongest suppressors of "apple"
    const apple = searchWord(search, model.tokenizer, 'apple', { side: 'suppress', limit: 50 });
    assert.ok(apple.hits.some((h) => h.layer === 1 && h.key === 3));
    assert.ok(apple.hits.every((h, i) => i === 0 || apple.hits[i - 1].prob <= h.prob), 'least probable first');
  } finally {
    await model.dispose();
  }
});

/** A table with random probabilities (sorted per memory as the projector returns them). */
function randomTable(nLayers: number, dFf: number, vocabSize: number, k: number): ValueTable {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const n = nLayers * dFf;
  const topIds = new Int32Array(n * k);
  const topProbs = new Float32Array(n * k);
  const bottomIds = new Int32Array(n * k);
  const bottomProbs = new Float32Array(n * k);
  const maxProb = new Float32Array(n);
  for (let m = 0; m < n; m++) {
    const ids = Array.from({ length: vocabSize }, (_, i) => i).sort(() => rand() - 0.5);
    const probs = Array.from({ length: vocabSize }, () => rand()).sort((a, b) => b - a);
    for (let i = 0; i < k; i++) {
      topIds[m * k + i] = ids[i];
      topProbs[m * k + i] = probs[i];
      bottomIds[m * k + i] = ids[vocabSize - 1 - i];
      bottomProbs[m * k + i] = probs[vocabSize - 1 - i];
    }
    maxProb[m] = probs[0];
  }
  return new ValueTable({ modelHash: 'x', finalNorm: false, nLayers, dFf, vocabSize, k, topIds, topProbs, bottomIds, bottomProbs, maxProb });
}

test('the inverted index equals a brute-force scan of the table, both sides', () => {
  const table = randomTable(3, 40, 30, 6);
  const search = MemorySearch.build(table);
  for (const side of ['promote', 'suppress'] as const) {
    for (let token = 0; token < 30; token++) {
      const brute: { layer: number; key: number; prob: number; rank: number }[] = [];
      for (let layer = 0; layer < 3; layer++) {
        for (let key = 0; key < 40; key++) {
          const list = side === 'promote' ? table.top(layer, key) : table.bottom(layer, key);
          const i = list.findIndex((x) => x.id === token);
          if (i >= 0) brute.push({ layer, key, prob: list[i].prob, rank: i + 1 });
        }
      }
      brute.sort((a, b) => (side === 'promote' ? b.prob - a.prob : a.prob - b.prob) || a.layer * 40 + a.key - (b.layer * 40 + b.key));
      const got = search.lookup(token, side).map(({ layer, key, prob, rank }) => ({ layer, key, prob, rank }));
      assert.deepEqual(got, brute, `${side} token ${token}`);
      assert.deepEqual(search.lookup(token, side, 2), search.lookup(token, side).slice(0, 2));
    }
  }
  assert.throws(() => search.lookup(30), /token id 30 is outside 0..29/);
});

test('a word is searched as its first token, written as given and with a leading space', () => {
  // a toy byte-level-like tokenizer: " x" and "x" are different tokens; "xy" splits in two
  const vocab = ['<s>', 'cat', ' cat', 'ca', 't', ' ca'];
  const tok: Tokenizer = {
    vocabSize: vocab.length,
    encode: (text) => {
      const table: Record<string, number[]> = { cat: [1], ' cat': [2], cats: [3, 4], ' cats': [5, 4], ' ': [0] };
      return [0, ...(table[text] ?? [])];
    },
    encodeWithOffsets: () => [],
    decode: (ids) => ids.map((i) => vocab[i]).join(''),
    tokenText: (id) => vocab[id],
    isSpecial: (id) => id === 0,
  };
  assert.deepEqual(queryTokens(tok, 'cat'), [1, 2]);
  assert.deepEqual(queryTokens(tok, 'cats'), [3, 5], 'first ordinary token, BOS skipped');
  assert.deepEqual(queryTokens(tok, ' cat'), [2], 'an explicit leading space is kept as given');
  assert.throws(() => queryTokens(tok, ''), /empty/);
  assert.throws(() => queryTokens(tok, ' '), /no ordinary token/);
});

test('gpt2-books: " king" and "king" are both searched, every query answers in under 50 ms', async (t) => {
  const dir = sharedOrSkip(t, 'models', 'gpt2-books');
  if (!dir) return;
  const cacheDir = tempDir();
  const model = await loadModel(dir, { cacheDir });
  try {
    const table = await computeValueTable(model, { k: 50 });
    const search = MemorySearch.build(table);
    assert.deepEqual(queryTokens(model.tokenizer, 'king'), model.tokenizer.encode('king').slice(0, 1).concat(model.tokenizer.encode(' king').slice(0, 1)));
    for (const word of ['king', 'the', 'Paris', 'unbelievable', ' of']) {
      for (const side of ['promote', 'suppress'] as const) {
        const t0 = performance.now();
        const r = searchWord(search, model.tokenizer, word, { side, limit: 20 });
        const ms = performance.now() - t0;
        assert.ok(ms < 50, `${word} ${side}: ${ms.toFixed(1)} ms`);
        for (const h of r.hits) {
          const list = side === 'promote' ? table.top(h.layer, h.key) : table.bottom(h.layer, h.key);
          assert.equal(list[h.rank - 1].id, h.tokenId);
        }
      }
    }
  } finally {
    await model.dispose();
  }
});
