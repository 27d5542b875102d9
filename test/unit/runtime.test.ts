/** Hooks, interventions and the graph cache, on the planted model (an oracle by construction). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hookName, inspect, loadModel, selectHooks, canonicalHookName, allHookNames, type LoadProgress } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';

const planted = writePlantedModel({
  words: ['apple', 'banana', 'cherry', 'dog', 'egg', 'fig'],
  plants: [
    { layer: 1, key: 3, trigger: 'apple', promotes: 'dog' },
    { layer: 0, key: 5, trigger: 'cherry', promotes: 'fig' },
  ],
});

test('planted keys fire on their trigger and their values drive the prediction', async () => {
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const r = await inspect(model, 'banana apple cherry egg', { topK: 1 });
    assert.deepEqual(r.tokens.map((t) => t.text), ['banana', 'apple', 'cherry', 'egg']);
    assert.deepEqual(r.layers[1].positions.map((p) => p.top[0].coeff > 1), [false, true, false, false]);
    assert.equal(r.layers[1].positions[1].top[0].key, 3);
    assert.equal(r.layers[0].positions[2].top[0].key, 5);
    assert.equal(r.predictions[1][0].text, 'dog');
    assert.equal(r.predictions[2][0].text, 'fig');
  } finally {
    await model.dispose();
  }
});

test('interventions: switching the planted memory off removes its prediction; set/scale at chosen positions only', async () => {
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const ids = model.tokenizer.encode('apple apple egg');
    const coeff = hookName(1, 'mlp.coeff');
    const base = await model.run([ids], [coeff, 'logits']);
    const off = await model.run([ids], [coeff, 'logits'], [{ layer: 1, key: 3, mode: 'set', value: 0, positions: [1] }]);
    const dFf = model.config.dFf;
    const at = (t: Map<string, { data: Float32Array }>, pos: number) => t.get(coeff)!.data[pos * dFf + 3];
    assert.ok(at(base, 0) > 1 && at(base, 1) > 1);
    assert.equal(at(off, 1), 0, 'patched position is set');
    assert.equal(at(off, 0), at(base, 0), 'other positions untouched');
    const V = model.config.vocabSize;
    const argmax = (t: Map<string, { data: Float32Array }>, pos: number) => {
      const l = t.get('logits')!.data.subarray(pos * V, (pos + 1) * V);
      return l.indexOf(Math.max(...l));
    };
    assert.equal(argmax(base, 1), planted.idOf('dog'));
    assert.notEqual(argmax(off, 1), planted.idOf('dog'));
    // scale composes: ×2 then ×3 = ×6, and applies at every position when none are given
    const scaled = await model.run([ids], [coeff], [{ layer: 1, key: 3, mode: 'scale', value: 2 }, { layer: 1, key: 3, mode: 'scale', value: 3 }]);
    assert.ok(Math.abs(at(scaled, 0) - 6 * at(base, 0)) < 1e-4);
    assert.ok(Math.abs(at(scaled, 1) - 6 * at(base, 1)) < 1e-4);
    // boosting a silent memory makes its value win
    const boosted = await model.run([model.tokenizer.encode('egg')], ['logits'], [{ layer: 0, key: 5, mode: 'set', value: 30 }]);
    assert.equal(argmax(boosted, 0), planted.idOf('fig'));
  } finally {
    await model.dispose();
  }
});

test('hooks: patterns, TransformerLens aliases and unknown names', () => {
  const names = allHookNames(2);
  assert.deepEqual(selectHooks('blocks.*.mlp.coeff', names), ['blocks.0.mlp.coeff', 'blocks.1.mlp.coeff']);
  assert.deepEqual(selectHooks('blocks.1.mlp.hook_post, logits', names), ['blocks.1.mlp.coeff', 'logits']);
  assert.equal(canonicalHookName('blocks.3.hook_resid_pre'), 'blocks.3.resid_pre');
  assert.equal(canonicalHookName('ln_final.hook_normalized'), 'final_norm');
  assert.throws(() => selectHooks('blocks.9.mlp.coeff', names), /no hook matches "blocks.9.mlp.coeff"/);
});

test('graph cache: the second load uses the cached graph; a damaged protobuf is rebuilt', async () => {
  const cacheDir = tempDir();
  const stages = async () => {
    const seen: LoadProgress[] = [];
    const m = await loadModel(planted.dir, { cacheDir, onProgress: (p) => seen.push(p) });
    const out = await m.run([[1, 2]], ['logits']);
    await m.dispose();
    return { built: seen.some((p) => p.stage === 'build'), logits: [...out.get('logits')!.data] };
  };
  const first = await stages();
  assert.equal(first.built, true);
  const second = await stages();
  assert.equal(second.built, false, 'loaded from cache');
  assert.deepEqual(second.logits, first.logits);
  const file = fs.readdirSync(path.join(cacheDir, 'graphs')).find((f) => f.endsWith('.onnx'))!;
  fs.writeFileSync(path.join(cacheDir, 'graphs', file), 'garbage');
  const third = await stages();
  assert.equal(third.built, true, 'rebuilt after damage');
  assert.deepEqual(third.logits, first.logits);
});

test('weights for analyses: key i, value i and E are reachable without running the model', async () => {
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const keys = model.keys(1);
    const values = model.values(1);
    const d = model.config.dModel;
    assert.deepEqual(keys.shape, [model.config.dFf, d]);
    assert.deepEqual(values.shape, [model.config.dFf, d]);
    const argmaxRow = (t: { data: Float32Array }, row: number) => {
      const r = t.data.subarray(row * d, (row + 1) * d);
      return r.indexOf(Math.max(...r));
    };
    // the planted key 3 reads the "apple" direction and its value writes the "dog" one
    assert.equal(argmaxRow(keys, 3), planted.idOf('apple'));
    assert.equal(argmaxRow(values, 3), planted.idOf('dog'));
    assert.deepEqual(model.unembed().weight.shape, [d, model.config.vocabSize]);
    assert.throws(() => model.values(7), /layer 7 is outside 0..1/);
  } finally {
    await model.dispose();
  }
});
