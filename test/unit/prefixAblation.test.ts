/**
 * The prefix-ablation experiment on the planted model, whose keys see only the current
 * token (attention and position embeddings are zero): removing the last token of a
 * trigger prefix switches the key off (change ≈ −100%), removing the first or an inner
 * token changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookName, loadModel, type TriggerLookup } from '../../src/core';
import { prefixAblation } from '../../src/core/analysis/statistics/prefixAblation';
import { writePlantedModel } from '../fixtures/planted';

const planted = writePlantedModel({
  words: ['apple', 'banana', 'cherry', 'dog', 'egg'],
  plants: [
    { layer: 1, key: 3, trigger: 'apple', promotes: 'dog' },
    { layer: 0, key: 6, trigger: 'banana', promotes: 'egg' },
  ],
});

test('prefix ablation: the last token matters to a key that reads only the last token, the first and inner ones do not', async () => {
  const m = await loadModel(planted.dir, { noCache: true });
  try {
    const ids = (s: string) => s.split(' ').map((w) => planted.idOf(w));
    const prefixes = { 1: ['cherry egg apple', 'dog apple', 'egg cherry dog apple'], 0: ['apple banana', 'cherry dog egg banana'] } as Record<number, string[]>;
    const planted_ = { 1: 3, 0: 6 } as Record<number, number>;
    // the indexed coefficient, as the index would have recorded it
    const coeffOf = async (layer: number, p: number[]) => (await m.run([p], [hookName(layer, 'mlp.coeff')])).get(hookName(layer, 'mlp.coeff'))!.data[(p.length - 1) * m.config.dFf + planted_[layer]];
    const table = new Map<string, { paragraph: number; window: number; position: number; coeff: number; prefix: number[]; next: number | null }[]>();
    for (const [layer, list] of Object.entries(prefixes)) {
      const ts = [];
      for (const s of list) ts.push({ paragraph: 0, window: 0, position: ids(s).length - 1, coeff: await coeffOf(Number(layer), ids(s)), prefix: ids(s), next: null });
      table.set(`${layer}:${planted_[Number(layer)]}`, ts);
    }
    const lookup: TriggerLookup = { triggers: (layer, key) => table.get(`${layer}:${key}`) ?? [] };
    const r = await prefixAblation(m, lookup, { keys: 8, triggers: 5 });
    assert.equal(r.layers.length, 2);
    for (const l of r.layers) {
      assert.equal(l.keys, 1, 'only the planted key has triggers');
      assert.equal(l.examples, prefixes[l.layer].length);
      assert.ok(l.last.mean < -0.95, `layer ${l.layer}: removing the last token: ${l.last.mean}`);
      assert.ok(Math.abs(l.first.mean) < 1e-4, `layer ${l.layer}: removing the first token: ${l.first.mean}`);
      assert.ok(Math.abs(l.random.mean) < 1e-4, `layer ${l.layer}: removing a random token: ${l.random.mean}`);
      for (const v of [l.first, l.last, l.random]) assert.ok(v.ci95[0] <= v.mean + 1e-12 && v.mean <= v.ci95[1] + 1e-12);
    }
  } finally {
    await m.dispose();
  }
});
