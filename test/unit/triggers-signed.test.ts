/**
 * Signed trigger indexes (gated FFNs, format version 2): each key's top-N with m > 0 and its
 * N most negative, on a planted gated model whose negative key is known; shard + merge and
 * interrupt + resume byte for byte; signed and unsigned shards refused together; and the
 * committed version 1 fixtures (written before signed indexes): still readable, with a
 * gated model's negative side absent, and ungated indexes still written byte for byte alike.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, loadModel, mergeTriggerIndexes, NEGATIVE_SIDE_ABSENT, openTriggerIndex, TriggerIndexAborted, type Model } from '../../src/core';
import { readIndex, writeIndex } from '../../src/core/analysis/triggers/format';
import { memoryTriggers } from '../../src/extension/worker/triggerIndex';
import { assertMatchesBruteForce, bruteForceTriggers } from '../fixtures/bruteTriggers';
import { gatedModel, ungatedModel, V1_FIXTURES, V1_TOP, v1Corpus } from '../fixtures/indexV1';
import { randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { runCli, tempDir } from '../support';

const bytes = (dir: string) => fs.readFileSync(path.join(dir, 'triggers.idx'));

/** An index file's header JSON text (padding trimmed) and everything after it but the checksum. */
function parts(dir: string): { header: string; body: Buffer } {
  const b = bytes(dir);
  const len = b.readUInt32LE(8);
  return { header: b.subarray(12, 12 + len).toString('utf8').trimEnd(), body: b.subarray(12 + len, b.length - 32) };
}

/** The planted gated model and a corpus where "dog", "cat" and "bird" recur. */
async function gatedSetup(): Promise<{ model: Model; dir: string; files: string[]; idOf: (w: string) => number }> {
  const dir = tempDir();
  const planted = gatedModel(dir);
  const model = await loadModel(planted.dir, { noCache: true });
  const files = [writeCorpus(dir, 'a.txt', randomParagraphs(40, 3)), writeCorpus(dir, 'b.txt', ['the dog ran home', 'a big dog sat on the mat', ...randomParagraphs(20, 4, 30)])];
  return { model, dir, files, idOf: planted.idOf };
}

test('planted gated model: the negative side lists the positions where the key fires negative; both sides equal brute force', async () => {
  const { model, dir, files, idOf } = await gatedSetup();
  try {
    assert.ok(model.config.gated);
    const out = path.join(dir, 'index');
    await buildTriggerIndex(model, { corpus: files, out, top: 8, poolTokens: 40 });
    const index = openTriggerIndex(out, model);
    assert.equal(index.info.version, 2);
    assert.equal(index.info.settings.signed, true);
    assert.ok(index.signed);

    // key 2 of layer 0: m ≈ −16 on "dog", small of either sign elsewhere
    const dog = idOf('dog');
    const negative = index.negativeTriggers(0, 2)!;
    assert.equal(negative.length, 8);
    for (const t of negative) {
      assert.equal(t.prefix[t.prefix.length - 1], dog, 'every negative trigger of the planted key ends on "dog"');
      assert.ok(t.coeff < -10, `m = ${t.coeff}`);
    }
    const positive = index.triggers(0, 2);
    assert.ok(positive.length > 0 && positive.every((t) => t.coeff > 0 && t.prefix[t.prefix.length - 1] !== dog), 'the positive side holds m > 0 only, never "dog"');
    // the positive plant is the mirror image
    const cat = idOf('cat');
    assert.ok(index.triggers(0, 5).every((t) => t.prefix[t.prefix.length - 1] === cat && t.coeff > 10));
    assert.ok(index.negativeTriggers(0, 5)!.every((t) => t.coeff < 0 && t.prefix[t.prefix.length - 1] !== cat));
    // layer 1's negative plant, past the first layer's residual
    const bird = idOf('bird');
    assert.ok(index.negativeTriggers(1, 1)!.every((t) => t.prefix[t.prefix.length - 1] === bird));

    await assertMatchesBruteForce(model, index, files);

    // the CLI shows the negative side as its own list, with the value's bottom token it promotes
    const human = await runCli('triggers', '--index', out, '--layer', '0', '--key', '2', '--model', model.info.source, '-q');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /fires negative on 8 triggers \(m < 0, most negative first\), promoting its value's bottom tokens "ran"/);
    const json = await runCli('triggers', '--index', out, '--layer', '0', '--key', '2', '--model', model.info.source, '--json', '-q');
    const j = JSON.parse(json.stdout) as { signed: boolean; negativeTriggers: { coeff: number; trigger: { text: string } }[]; promotesWhenNegative: { text: string }[] };
    assert.equal(j.signed, true);
    assert.deepEqual(
      j.negativeTriggers.map((t) => t.trigger.text),
      new Array(8).fill('dog'),
    );
    assert.equal(j.promotesWhenNegative[0].text, 'ran');

    // the panel gets the same two lists (the worker's view of them)
    const view = await memoryTriggers(model, index, 0, 2);
    assert.ok(view.negative && 'triggers' in view.negative);
    assert.deepEqual(
      view.negative.triggers.map((t) => t.text.slice(t.start, t.end).trim()),
      new Array(8).fill('dog'),
    );
    assert.deepEqual(
      view.negative.triggers.map((t) => t.coeff),
      negative.map((t) => t.coeff),
    );
    assert.equal(view.negative.promotes[0].text, 'ran');
    assert.equal(view.triggers.length, positive.length);
  } finally {
    await model.dispose();
  }
});

test('signed shards merged equal a single run byte for byte; signed and unsigned shards are refused together', async () => {
  const { model, dir, files } = await gatedSetup();
  try {
    const opts = { corpus: files, top: 5, poolTokens: 30 };
    const single = path.join(dir, 'single');
    await buildTriggerIndex(model, { ...opts, out: single });
    const shards = [0, 1, 2].map((i) => path.join(dir, `shard-${i}`));
    for (let i = 0; i < 3; i++) await buildTriggerIndex(model, { ...opts, out: shards[i], shard: { index: i, count: 3 } });
    for (const t of openTriggerIndex(shards[2]).negativeTriggers(0, 2)!) assert.equal(t.paragraph % 3, 2, 'a shard holds only its paragraphs, on both sides');
    const merged = path.join(dir, 'merged');
    await mergeTriggerIndexes([shards[1], shards[2], shards[0]], merged);
    assert.ok(bytes(merged).equals(bytes(single)), 'merged signed shards = single run');

    // shard 1 as an FFN Lens before signed indexes would have left it: same model, unsigned
    const old = path.join(dir, 'shard-1-unsigned');
    fs.mkdirSync(old);
    const c = readIndex(shards[1]);
    writeIndex(old, { ...c.info, version: 1, settings: { ...c.info.settings, signed: false } }, c.entries, c.tokens);
    assert.equal(openTriggerIndex(old).signed, false);
    await assert.rejects(mergeTriggerIndexes([shards[0], old, shards[2]], path.join(dir, 'mixed')), /is signed \(both signs.*\) but .*shard-1-unsigned is unsigned .*signed and unsigned shards cannot be merged: rebuild .*shard-1-unsigned/);
    assert.ok(!fs.existsSync(path.join(dir, 'mixed', 'triggers.idx')));
  } finally {
    await model.dispose();
  }
});

test('a signed run interrupted twice and resumed gives the uninterrupted index (both heaps checkpointed)', async () => {
  const { model, dir, files } = await gatedSetup();
  try {
    const opts = { corpus: files, top: 5, poolTokens: 30 };
    const single = path.join(dir, 'single');
    await buildTriggerIndex(model, { ...opts, out: single });
    const out = path.join(dir, 'interrupted');
    for (const stopAfter of [2, 3]) {
      const controller = new AbortController();
      let calls = 0;
      const run = buildTriggerIndex(model, { ...opts, out, resume: stopAfter === 3, signal: controller.signal, onProgress: () => (++calls === stopAfter ? controller.abort() : undefined) });
      await assert.rejects(run, (e) => e instanceof TriggerIndexAborted);
    }
    await buildTriggerIndex(model, { ...opts, out, resume: true });
    assert.ok(bytes(out).equals(bytes(single)), 'resumed = uninterrupted');
  } finally {
    await model.dispose();
  }
});

test('version 1 fixture of a gated model (written before signed indexes): readable, its negative side absent, not empty', async () => {
  const dir = tempDir();
  const fixture = path.join(V1_FIXTURES, 'llama');
  const model = await loadModel(gatedModel(dir).dir, { noCache: true });
  try {
    const index = openTriggerIndex(fixture, model);
    assert.equal(index.info.version, 1);
    assert.equal(index.info.settings.signed, false);
    assert.equal(index.signed, false);
    assert.equal(index.negativeTriggers(0, 2), null, 'absent: null, not []');
    // what it holds reads as it did: every key's top-N by coefficient, whatever the sign
    const brute = await bruteForceTriggers(model, [v1Corpus(dir)], index.info.settings.window, V1_TOP, 'all');
    for (let k = 0; k < model.config.dFf; k++) assert.deepEqual(index.triggers(0, k), brute[k], `key ${k}`);

    const human = await runCli('triggers', '--index', fixture, '--layer', '0', '--key', '2', '--model', model.info.source, '-q');
    assert.equal(human.code, 0, human.stderr);
    assert.ok(human.stdout.includes(`negative triggers: ${NEGATIVE_SIDE_ABSENT}`));
    const json = JSON.parse((await runCli('triggers', '--index', fixture, '--layer', '0', '--key', '2', '--model', model.info.source, '--json', '-q')).stdout) as { signed: boolean; negativeTriggers: unknown };
    assert.equal(json.signed, false);
    assert.equal(json.negativeTriggers, null);
    assert.deepEqual((await memoryTriggers(model, index, 0, 2)).negative, { absent: NEGATIVE_SIDE_ABSENT });
  } finally {
    await model.dispose();
  }
});

test('ungated models keep format version 1, written byte for byte as before signed indexes (the committed fixture)', async () => {
  const dir = tempDir();
  const fixture = path.join(V1_FIXTURES, 'gpt2');
  const model = await loadModel(ungatedModel(dir).dir, { noCache: true });
  try {
    const out = path.join(dir, 'index');
    await buildTriggerIndex(model, { corpus: [v1Corpus(dir)], out, top: V1_TOP });
    const now = parts(out);
    const then = parts(fixture);
    assert.ok(now.body.equals(then.body), 'entries and tokens byte for byte');
    // the header records where the model and corpus were; the rest, key order included, is the same text
    const h = JSON.parse(then.header) as { model: { source: string }; corpus: { path: string }[] };
    const ours = JSON.parse(now.header) as typeof h;
    h.model.source = ours.model.source;
    h.corpus.forEach((f, i) => (f.path = ours.corpus[i].path));
    assert.equal(now.header, JSON.stringify(h));
    assert.equal(openTriggerIndex(out).signed, false);
    assert.equal(openTriggerIndex(out).negativeTriggers(0, 3), null);
  } finally {
    await model.dispose();
  }
});
