/**
 * The extension's engine worker over its real channel (EngineClient → worker thread → core),
 * without VS Code: trigger-index builds with cancellation and resume, a memory's triggers and
 * patterns equal to the core's, labels in a file, the logit lens under interventions, report
 * cancellation, and the message for an index built with another model.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as core from '../../src/core';
import { sharedPath } from '../../src/core/shared';
import { EngineClient, EngineError } from '../../src/extension/engine';
import type { EngineProgress } from '../../src/extension/engineProtocol';
import { bundleEngineWorker } from '../fixtures/engineWorkerBundle';
import { writeWikitextSample } from '../fixtures/wikitext';
import { tempDir } from '../support';

const gpt2 = sharedPath('models', 'gpt2-books');
const stories = sharedPath('models', 'stories260K', 'stories260K.bin');
const small = writeWikitextSample(path.join(tempDir(), 'wiki40.txt'), 40);
const skip = !gpt2 || !small ? 'needs shared/models/gpt2-books and shared/corpora/wikitext-2-test.raw (set FFN_LENS_SHARED)' : undefined;

let client: EngineClient;
let model: core.Model;
let tmp: string;
let smallIndex: string;

before(async () => {
  if (skip) return;
  tmp = tempDir();
  client = new EngineClient(await bundleEngineWorker('main'), (l) => console.error(l));
  await client.request('load', { spec: gpt2!, cacheDir: path.join(tmp, 'cache') });
  model = await core.loadModel(gpt2!, { cacheDir: path.join(tmp, 'cache') });
  smallIndex = path.join(tmp, 'small.ffn-index');
});

after(async () => {
  await client?.stop();
  await model?.dispose();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (small) fs.rmSync(path.dirname(small), { recursive: true, force: true });
});

test('a trigger index builds in the worker; a memory\'s triggers and patterns are the core\'s', { skip }, async () => {
  const progress: EngineProgress[] = [];
  assert.deepEqual(await client.request('indexFolderState', { dir: smallIndex }), { state: 'missing' });
  const summary = await client.request('buildTriggerIndex', { corpus: [small!], out: smallIndex, resume: false }, { onProgress: (p) => progress.push(p) });
  assert.equal(summary.paragraphs, 40);
  assert.equal(summary.model, model.info.name);
  assert.ok(progress.length >= 1 && progress.every((p) => p.index && p.index.tokens > 0), 'index progress with token counts');
  const state = await client.request('indexFolderState', { dir: smallIndex });
  assert.equal(state.state, 'index');
  assert.ok(state.state === 'index' && state.sameModel);

  const index = core.openTriggerIndex(smallIndex, model);
  for (const [layer, key] of [[0, 0], [5, 3], [7, 1023]] as const) {
    const got = await client.request('memoryTriggers', { dir: smallIndex, layer, key });
    const want = index.triggers(layer, key);
    assert.equal(got.triggers.length, want.length);
    assert.equal(got.negative, null, 'an ungated model has no negative side to show');
    got.triggers.forEach((g, i) => {
      const w = want[i];
      assert.deepEqual([g.paragraph, g.window, g.position, g.coeff, g.next?.id ?? null], [w.paragraph, w.window, w.position, w.coeff, w.next], `L${layer}:${key} trigger ${i}`);
      // The prefix decoded whole where the text before the trigger is a prefix of that; else (a
      // split character, or GPT-2's cleanup turning " 's" into "'s") the trigger token appended.
      const tok = model.tokenizer;
      const before = w.prefix.length > 1 ? tok.decode(w.prefix.slice(0, -1)) : '';
      const full = tok.decode(w.prefix);
      assert.equal(g.text, full.startsWith(before) ? full : before + tok.tokenText(w.prefix[w.prefix.length - 1]));
      assert.equal(g.text.slice(0, g.start), before);
      assert.equal(g.end, g.text.length);
    });
    const kp = await core.keyPatterns(model, index, layer, key, { valueK: 10 });
    assert.deepEqual(got.patterns.patterns.map((p) => [p.kind, p.label, p.covers]), kp.patterns.map((p) => [p.kind, p.label, p.covers]));
    assert.equal(got.patterns.covered, kp.covered);
  }
});

test('cancelling a build leaves a checkpoint that a resumed build finishes', { skip }, async () => {
  // Enough paragraphs for three pools: the cancel lands inside the second, and the first pool is checkpointed.
  const corpus = writeWikitextSample(path.join(tmp, 'wiki220.txt'), 220)!;
  const out = path.join(tmp, 'cancelled.ffn-index');
  const controller = new AbortController();
  const err = await client
    .request('buildTriggerIndex', { corpus: [corpus], out, resume: false }, { signal: controller.signal, onProgress: () => controller.abort() })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof EngineError && err.aborted, `expected a cancelled build, got ${String(err)}`);
  assert.match(err.message, /checkpoint/);
  assert.deepEqual(await client.request('indexFolderState', { dir: out }), { state: 'checkpoint' });
  await assert.rejects(client.request('openTriggerIndex', { dir: out }), /unfinished trigger index.*Resume/);

  const summary = await client.request('buildTriggerIndex', { corpus: [corpus], out, resume: true });
  assert.equal(summary.paragraphs, 220);
  assert.equal((await client.request('indexFolderState', { dir: out })).state, 'index');
});

test('loading a model stops a running build first (at a checkpoint), then loads', { skip }, async () => {
  const corpus = writeWikitextSample(path.join(tmp, 'wiki220.txt'), 220)!;
  const out = path.join(tmp, 'interrupted.ffn-index');
  let started!: () => void;
  const progressed = new Promise<void>((r) => (started = r));
  const build = client.request('buildTriggerIndex', { corpus: [corpus], out, resume: false }, { onProgress: () => started() }).then(
    () => undefined,
    (e: unknown) => e,
  );
  await progressed;
  const info = await client.request('load', { spec: gpt2!, cacheDir: path.join(tmp, 'cache') });
  assert.equal(info.name, model.info.name);
  const err = await build;
  assert.ok(err instanceof EngineError && err.aborted, `expected the build to be stopped, got ${String(err)}`);
  assert.deepEqual(await client.request('indexFolderState', { dir: out }), { state: 'checkpoint' });
});

test('labels are added to and removed from the labels file', { skip }, async () => {
  const file = path.join(tmp, 'ws', '.vscode', 'ffn-lens-labels.json');
  assert.deepEqual(await client.request('labels', { file, layer: 5, key: 3 }), []);
  const added = await client.request('labels', { file, layer: 5, key: 3, edit: { op: 'add', text: 'sentence starts', kind: 'shallow' } });
  assert.deepEqual(added, [{ text: 'sentence starts', kind: 'shallow' }]);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { model: string; labels: unknown[] };
  assert.equal(json.model, model.info.hash);
  assert.deepEqual(json.labels, [{ layer: 5, key: 3, text: 'sentence starts', kind: 'shallow' }]);
  assert.deepEqual(await client.request('labels', { file, layer: 5, key: 3, edit: { op: 'remove', text: 'sentence starts' } }), []);
  await assert.rejects(client.request('labels', { file, layer: 99, key: 0 }), /outside/);
  fs.writeFileSync(file, '{ broken');
  await assert.rejects(client.request('labels', { file, layer: 5, key: 3 }), /not valid JSON/);
});

test('the logit lens applies the interventions', { skip }, async () => {
  const ids = model.tokenizer.encode('The captain ordered the crew to raise the anchor');
  const interventions = [{ layer: 5, key: 3, mode: 'set' as const, value: 10 }];
  const got = await client.request('layerPredictions', { ids, position: 4, k: 3, interventions });
  const want = await core.layerPredictions(model, ids, 4, 3, interventions);
  const plain = await core.layerPredictions(model, ids, 4, 3);
  assert.deepEqual(got.map((l) => l.afterFfn.map((p) => p.id)), want.map((l) => l.afterFfn.map((p) => p.id)));
  assert.notDeepEqual(want.map((l) => l.afterFfn.map((p) => p.prob)), plain.map((l) => l.afterFfn.map((p) => p.prob)));
});

test('attribution in the worker is the core\'s, for the prediction, a typed target and a contrast; a bad token is a clear error', { skip }, async () => {
  const ids = model.tokenizer.encode('The captain ordered the crew to raise the anchor');
  const want = core.attribute(model, await core.tracePosition(model, ids, 4), { top: 3 });
  const got = await client.request('attribute', { ids, position: 4, target: null, contrast: null, k: 3 });
  assert.deepEqual(got.target, want.target);
  assert.ok(Math.abs(got.logit - want.logit) < 1e-6);
  assert.deepEqual(got.components.map((c) => c.name), want.components.map((c) => c.name));
  assert.deepEqual(got.support.map((m) => [m.layer, m.key]), core.rankMemories(await core.tracePosition(model, ids, 4), want.memoryScores, { k: 3, order: 'support' }).map((m) => [m.layer, m.key]));
  assert.ok(got.support.every((m) => m.score > 0) && got.oppose.every((m) => m.score < 0));
  // the same sequence at another position, with a typed target and a contrast by id
  const typed = await client.request('attribute', { ids, position: 6, target: { text: ' the' }, contrast: { id: 257 }, k: 2 });
  assert.equal(typed.target.text, ' the');
  assert.equal(typed.contrast?.id, 257);
  await assert.rejects(client.request('attribute', { ids, position: 6, target: { text: ' the anchor' }, contrast: null, k: 2 }), /is 2 tokens/);
});

test('the paper report can be cancelled', { skip }, async () => {
  const controller = new AbortController();
  const err = await client
    .request('paperReport', { dir: smallIndex }, { signal: controller.signal, onProgress: () => controller.abort() })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof EngineError && err.aborted, `expected a cancelled report, got ${String(err)}`);
});

test('an index built with another model is refused with both models named', { skip: skip ?? (stories ? undefined : 'needs shared/models/stories260K') }, async () => {
  await client.request('load', { spec: stories!, cacheDir: path.join(tmp, 'cache') });
  try {
    await assert.rejects(client.request('openTriggerIndex', { dir: smallIndex }), (e: Error) => /was built with gpt2-books/.test(e.message) && /stories260K/.test(e.message));
    await assert.rejects(client.request('memoryTriggers', { dir: smallIndex, layer: 0, key: 0 }), /was built with/);
  } finally {
    await client.request('load', { spec: gpt2!, cacheDir: path.join(tmp, 'cache') });
  }
});
