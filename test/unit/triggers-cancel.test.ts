/**
 * Cancelling an index build at any moment: after the last pool (before the index is written),
 * inside a pool between forward passes, and before any pool. Each stops without writing the
 * index, leaves a checkpoint wherever one can be saved, and resuming gives the uninterrupted
 * run's index byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, loadModel, TriggerIndexAborted, type Model } from '../../src/core';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { tempDir } from '../support';

const bytes = (file: string) => fs.readFileSync(file);
/** One window per forward pass, so a pool takes several passes and a cancel can land between them. */
const opts = { top: 6, poolTokens: 30, batch: { tokens: 1024, rows: 1 } };

/** The model, whose forward passes call `onRun(n)` (n = passes so far) before running. */
function counting(model: Model, onRun: (n: number) => void): Model {
  let runs = 0;
  const spy = Object.create(model) as Model;
  spy.run = (...args: Parameters<Model['run']>) => {
    onRun(++runs);
    return model.run(...args);
  };
  return spy;
}

test('cancel at any moment of an index build: nothing written but a checkpoint, and resume completes it', async () => {
  const model = await loadModel(plantedForTriggers().dir, { noCache: true });
  try {
    const dir = tempDir();
    const corpus = [writeCorpus(dir, 'a.txt', randomParagraphs(30, 11))];
    const single = path.join(dir, 'single');
    await buildTriggerIndex(model, { ...opts, corpus, out: single });
    const want = bytes(path.join(single, 'triggers.idx'));

    // 1. inside the first pool: nothing can be saved, so nothing is left behind
    const first = path.join(dir, 'first');
    const c1 = new AbortController();
    await assert.rejects(
      buildTriggerIndex(counting(model, (n) => n === 2 && c1.abort()), { ...opts, corpus, out: first, signal: c1.signal }),
      (e: Error) => e.name === 'AbortError' && !(e instanceof TriggerIndexAborted) && /before its first checkpoint/.test(e.message),
    );
    assert.ok(!fs.existsSync(first), 'a cancelled first pool leaves no folder');

    // 1b. inside a later pool: the first pool's checkpoint stays to resume from
    const later = path.join(dir, 'later');
    const c1b = new AbortController();
    let poolsDone = 0;
    let passesAtPool1 = 0;
    let passes1b = 0;
    await assert.rejects(
      buildTriggerIndex(counting(model, () => ++passes1b === passesAtPool1 + 1 && poolsDone === 1 && c1b.abort()), {
        ...opts,
        corpus,
        out: later,
        signal: c1b.signal,
        onProgress: () => {
          if (++poolsDone === 1) passesAtPool1 = passes1b;
        },
      }),
      (e) => e instanceof TriggerIndexAborted,
    );
    assert.equal(poolsDone, 1, 'stopped inside the second pool');
    assert.ok(fs.existsSync(path.join(later, 'checkpoint.bin')));
    await buildTriggerIndex(model, { ...opts, corpus, out: later, resume: true });
    assert.ok(bytes(path.join(later, 'triggers.idx')).equals(want), 'resumed from the first pool = uninterrupted');

    // 2. after the last pool, before the index is written: a checkpoint of the whole run
    const out = path.join(dir, 'out');
    const c2 = new AbortController();
    let pools = 0;
    await buildTriggerIndex(model, { ...opts, corpus, out: path.join(dir, 'count'), onProgress: () => pools++ });
    let seen = 0;
    await assert.rejects(
      buildTriggerIndex(model, { ...opts, corpus, out, signal: c2.signal, onProgress: () => ++seen === pools && c2.abort() }),
      (e) => e instanceof TriggerIndexAborted,
    );
    assert.ok(pools > 2, `the corpus spans several pools (${pools})`);
    assert.ok(!fs.existsSync(path.join(out, 'triggers.idx')), 'no index was written');
    const ck = path.join(out, 'checkpoint.bin');
    assert.ok(fs.existsSync(ck));
    let passes = 0;
    await buildTriggerIndex(counting(model, () => passes++), { ...opts, corpus, out, resume: true });
    assert.equal(passes, 0, 'the checkpoint held the whole run: resuming only writes the index');
    assert.ok(bytes(path.join(out, 'triggers.idx')).equals(want));

    // 3. a run resumed from it, then cancelled between two forward passes of its (only) pool:
    // the earlier checkpoint stays as it was
    fs.rmSync(out, { recursive: true });
    const c3 = new AbortController();
    seen = 0;
    await assert.rejects(
      buildTriggerIndex(model, { ...opts, corpus, out, signal: c3.signal, onProgress: () => ++seen === 1 && c3.abort() }),
      (e) => e instanceof TriggerIndexAborted,
    );
    const afterPool = bytes(ck);
    const c4 = new AbortController();
    await assert.rejects(
      buildTriggerIndex(counting(model, (n) => n === 2 && c4.abort()), { ...opts, corpus, out, resume: true, signal: c4.signal }),
      (e) => e instanceof TriggerIndexAborted,
    );
    assert.ok(bytes(ck).equals(afterPool), 'a cancel inside a pool keeps the last checkpoint unchanged');
    assert.ok(!fs.existsSync(path.join(out, 'triggers.idx')));

    // 4. cancelled while reading paragraphs (already aborted at the start of a resume)
    const c5 = new AbortController();
    c5.abort();
    await assert.rejects(buildTriggerIndex(model, { ...opts, corpus, out, resume: true, signal: c5.signal }), (e: Error) => e.name === 'AbortError');
    assert.ok(bytes(ck).equals(afterPool), 'nothing was processed, so the checkpoint says the same');

    await buildTriggerIndex(model, { ...opts, corpus, out, resume: true });
    assert.ok(bytes(path.join(out, 'triggers.idx')).equals(want), 'resumed = uninterrupted');
    assert.deepEqual(fs.readdirSync(out), ['triggers.idx']);
  } finally {
    await model.dispose();
  }
});
