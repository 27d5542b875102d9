/** The trigger index against a brute-force oracle, on the planted model and on gpt2-books. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, findPatterns, keyPatterns, loadModel, openTriggerIndex } from '../../src/core';
import { assertMatchesBruteForce, paragraphsOf } from '../fixtures/bruteTriggers';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { sharedOrSkip, tempDir } from '../support';

test('planted model: the index equals brute force, triggers end on the trigger word, patterns say so', async () => {
  const planted = plantedForTriggers();
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const dir = tempDir();
    // a long paragraph (40 words) crosses the planted model's 16-token context: windows cut it
    const long = Array.from({ length: 40 }, (_, i) => (i % 7 === 3 ? 'cat' : i % 5 === 0 ? 'dog' : 'tree')).join(' ');
    const paragraphs = [long, ...randomParagraphs(30, 1), 'the cat sat on the mat', 'a cat sat', 'big cat sat home'];
    const corpus = writeCorpus(dir, 'corpus.txt', paragraphs);
    const out = path.join(dir, 'index');
    await buildTriggerIndex(model, { corpus: [corpus], out, top: 8, poolTokens: 40 });
    const index = openTriggerIndex(out, model);
    assert.equal(index.info.settings.window, 16, 'the default window is capped by the context');
    assert.equal(index.info.corpusParagraphs, paragraphsOf([corpus]).length);
    await assertMatchesBruteForce(model, index, [corpus]);

    const cat = planted.idOf('cat');
    const triggers = index.triggers(0, 3);
    assert.equal(triggers.length, 8);
    for (const t of triggers) {
      assert.equal(t.prefix[t.prefix.length - 1], cat, 'every top trigger of the planted key ends on "cat"');
      assert.ok(t.coeff > 1);
    }
    // the long paragraph's later windows start again at position 0
    const longIndex = 0;
    const inLong = index.triggers(0, 3).concat(index.triggers(1, 5)).filter((t) => t.paragraph === longIndex);
    assert.ok(inLong.some((t) => t.window > 0), 'triggers found past the first window');
    const longIds = model.tokenizer.encode(long);
    for (const t of inLong) assert.deepEqual(t.prefix, longIds.slice(t.window * 16, t.window * 16 + t.position + 1));

    const patterns = findPatterns(triggers, model.tokenizer);
    assert.equal(patterns[0].type, 'trigger-token');
    assert.deepEqual(patterns[0].tokens, [cat]);
    assert.equal(patterns[0].covers.length, 8);
    const k = await keyPatterns(model, index, 0, 3);
    assert.equal(k.covered, 8);
    assert.ok(k.patterns.some((p) => p.type === 'trigger-token' && p.label === 'trigger token "cat"'));
  } finally {
    await model.dispose();
  }
});

test('gpt2-books: the index equals brute force on a few WikiText paragraphs', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'gpt2-books');
  const wiki = sharedOrSkip(t, 'corpora', 'wikitext-2-test.raw');
  if (!spec || !wiki) return;
  const model = await loadModel(spec);
  try {
    const dir = tempDir();
    // a heading, short and long paragraphs: the first two windows of 32 cut the long ones
    const all = paragraphsOf([wiki]);
    const corpus = writeCorpus(dir, 'slice.txt', [all[0], all[1].slice(0, 500), all[3].slice(0, 160), all[5].slice(0, 90)]);
    const out = path.join(dir, 'index');
    await buildTriggerIndex(model, { corpus: [corpus], out, top: 6, window: 32, poolTokens: 64 });
    const index = openTriggerIndex(out, model);
    assert.ok(index.info.totals.windows > index.info.totals.paragraphs, 'some paragraph spans several windows');
    await assertMatchesBruteForce(model, index, [corpus]);
  } finally {
    await model.dispose();
  }
});

test('stories260K (llama2.c, BOS first, 172 memories, gated): both sides of the signed index equal brute force', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'stories260K', 'stories260K.bin');
  const stories = sharedOrSkip(t, 'corpora', 'tinystories-valid-sample.txt');
  if (!spec || !stories) return;
  const model = await loadModel(spec);
  try {
    const dir = tempDir();
    const corpus = writeCorpus(dir, 'stories.txt', paragraphsOf([stories]).slice(0, 6));
    const out = path.join(dir, 'index');
    await buildTriggerIndex(model, { corpus: [corpus], out, top: 7, window: 48, poolTokens: 100 });
    const index = openTriggerIndex(out, model);
    assert.ok(index.signed, 'a gated model gets a signed index');
    await assertMatchesBruteForce(model, index, [corpus]);
    // BOS opens every paragraph's first window but is never a trigger
    const bos = model.tokenizer.bosId!;
    for (const t of [...index.triggers(2, 100), ...index.negativeTriggers(2, 100)!]) {
      if (t.window === 0) assert.equal(t.prefix[0], bos);
      assert.notEqual(t.prefix[t.prefix.length - 1], bos);
    }
  } finally {
    await model.dispose();
  }
});
