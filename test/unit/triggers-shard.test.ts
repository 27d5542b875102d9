/** Scale-out and interruption: shard + merge and abort + resume give byte for byte the single run's index. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, loadModel, mergeTriggerIndexes, openTriggerIndex, TriggerIndexAborted, type Model } from '../../src/core';
import { paragraphsOf } from '../fixtures/bruteTriggers';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { sharedOrSkip, tempDir } from '../support';

const bytes = (dir: string) => fs.readFileSync(path.join(dir, 'triggers.idx'));

/** Two corpus files of the planted model's words, and a single-run index of them. */
async function plantedSetup() {
  const planted = plantedForTriggers();
  const model = await loadModel(planted.dir, { noCache: true });
  const dir = tempDir();
  const files = [writeCorpus(dir, 'a.txt', randomParagraphs(40, 7)), writeCorpus(dir, 'b.txt', randomParagraphs(25, 8, 30))];
  const single = path.join(dir, 'single');
  const opts = { corpus: files, top: 6, poolTokens: 30 };
  await buildTriggerIndex(model, { ...opts, out: single });
  return { model, dir, files, single, opts };
}

test('shards merged equal a single run byte for byte, in any argument order', async () => {
  const { model, dir, single, opts } = await plantedSetup();
  try {
    const shards = [0, 1, 2].map((i) => path.join(dir, `shard-${i}`));
    for (let i = 0; i < 3; i++) await buildTriggerIndex(model, { ...opts, out: shards[i], shard: { index: i, count: 3 } });
    const s1 = openTriggerIndex(shards[1]).info;
    assert.deepEqual(s1.settings.shard, { index: 1, count: 3 });
    assert.ok(s1.totals.paragraphs < openTriggerIndex(single).info.totals.paragraphs);
    for (const t of openTriggerIndex(shards[1]).triggers(0, 3)) assert.equal(t.paragraph % 3, 1, 'a shard holds only its paragraphs');

    const merged = path.join(dir, 'merged');
    await mergeTriggerIndexes(shards, merged);
    assert.ok(bytes(merged).equals(bytes(single)), 'merged shards = single run');
    const reordered = path.join(dir, 'merged-2');
    await mergeTriggerIndexes([shards[2], shards[0], shards[1]], reordered);
    assert.ok(bytes(reordered).equals(bytes(single)));

    await assert.rejects(mergeTriggerIndexes([shards[0], shards[2]], path.join(dir, 'x')), /shards 1\/3 are missing/);
    await assert.rejects(mergeTriggerIndexes([shards[0], shards[0], shards[1], shards[2]], path.join(dir, 'x')), /given twice/);
    await assert.rejects(mergeTriggerIndexes([single, shards[0]], path.join(dir, 'x')), /not a shard/);
    await assert.rejects(mergeTriggerIndexes([shards[0], shards[1], shards[2]], shards[0]), /also an input/);
  } finally {
    await model.dispose();
  }
});

test('an interrupted run leaves a checkpoint; resuming gives the uninterrupted index', async () => {
  const { model, dir, single, opts } = await plantedSetup();
  try {
    const out = path.join(dir, 'interrupted');
    // stop twice, at different points, then finish
    for (const stopAfter of [2, 3]) {
      const controller = new AbortController();
      let calls = 0;
      const run = buildTriggerIndex(model, {
        ...opts,
        out,
        resume: stopAfter === 3,
        signal: controller.signal,
        onProgress: () => {
          if (++calls === stopAfter) controller.abort();
        },
      });
      await assert.rejects(run, (e) => e instanceof TriggerIndexAborted && /checkpoint/.test(e.message));
      assert.ok(fs.existsSync(path.join(out, 'checkpoint.bin')));
      assert.ok(!fs.existsSync(path.join(out, 'triggers.idx')), 'no index until the run completes');
    }
    assert.throws(() => openTriggerIndex(out), /unfinished trigger index/);
    // a crash after the checkpoint leaves spool records it does not know: they are dropped
    fs.appendFileSync(path.join(out, 'tokens.spool'), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
    await assert.rejects(buildTriggerIndex(model, { ...opts, out }), /holds an unfinished index/);
    await assert.rejects(buildTriggerIndex(model, { ...opts, out, resume: true, top: 9 }), /resume with the same settings/);

    let resumedFrom = -1;
    await buildTriggerIndex(model, { corpus: opts.corpus, out, resume: true, poolTokens: 30, onProgress: (p) => (resumedFrom = resumedFrom < 0 ? p.paragraphs : resumedFrom) });
    assert.ok(resumedFrom > 1, 'the resumed run started past the paragraphs already done');
    assert.ok(bytes(out).equals(bytes(single)), 'resumed = uninterrupted');
    assert.deepEqual(fs.readdirSync(out), ['triggers.idx'], 'checkpoint and spool are gone');
    // resuming a finished index with the same inputs is a no-op
    await buildTriggerIndex(model, { ...opts, out, resume: true });
    assert.ok(bytes(out).equals(bytes(single)));
  } finally {
    await model.dispose();
  }
});

test('gpt2-books: two shards merged equal a single run byte for byte', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'gpt2-books');
  const wiki = sharedOrSkip(t, 'corpora', 'wikitext-2-test.raw');
  if (!spec || !wiki) return;
  const model: Model = await loadModel(spec);
  try {
    const dir = tempDir();
    const corpus = writeCorpus(dir, 'slice.txt', paragraphsOf([wiki]).slice(0, 9).map((p) => p.slice(0, 300)));
    const opts = { corpus: [corpus], top: 5, window: 48, poolTokens: 100 };
    const single = path.join(dir, 'single');
    await buildTriggerIndex(model, { ...opts, out: single });
    const shards = [0, 1].map((i) => path.join(dir, `shard-${i}`));
    for (let i = 0; i < 2; i++) await buildTriggerIndex(model, { ...opts, out: shards[i], shard: { index: i, count: 2 } });
    const merged = path.join(dir, 'merged');
    await mergeTriggerIndexes(shards, merged);
    assert.ok(bytes(merged).equals(bytes(single)));
  } finally {
    await model.dispose();
  }
});
