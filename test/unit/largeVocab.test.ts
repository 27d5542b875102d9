/**
 * Real large vocabularies (Llama 3's 128,256 and Gemma 3's 262,144 tokens, with their
 * own tokenizers) on small-width random models: the value table, projections split into
 * row chunks, token ranks and inspect's predictions all equal a float64 brute force
 * over the whole vocabulary, including rows on both sides of every chunk boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeValueTable, FINAL_NORM, inspect, loadModel, tokenRanks, VocabProjector, type Model } from '../../src/core';
import { rowsPerCall } from '../../src/core/analysis/vocab';
import type { HostTensor } from '../../src/core/tensor';
import { writeLargeVocabModel } from '../fixtures/largeVocab';

/** softmax(x·E) of one row in float64, E as [d, V]. */
function bruteProbs(x: Float32Array, E: HostTensor): Float64Array {
  const [d, V] = E.shape;
  const logits = new Float64Array(V);
  for (let i = 0; i < d; i++) {
    const xi = x[i];
    const row = E.data.subarray(i * V, (i + 1) * V);
    for (let j = 0; j < V; j++) logits[j] += xi * row[j];
  }
  let max = -Infinity;
  for (const l of logits) max = Math.max(max, l);
  let sum = 0;
  for (let j = 0; j < V; j++) sum += (logits[j] = Math.exp(logits[j] - max));
  return logits.map((e) => e / sum);
}

function ranked(p: Float64Array, k: number, largest: boolean): number[] {
  const ids = Array.from(p.keys()).sort((a, b) => (largest ? p[b] - p[a] : p[a] - p[b]) || a - b);
  return ids.slice(0, k);
}

const row = (t: HostTensor, i: number) => t.data.subarray(i * t.shape[1], (i + 1) * t.shape[1]);

async function withModel(spec: Parameters<typeof writeLargeVocabModel>[0], body: (m: Model) => Promise<void>): Promise<void> {
  const m = await loadModel(writeLargeVocabModel(spec).dir, { noCache: true });
  try {
    await body(m);
  } finally {
    await m.dispose();
  }
}

test('Llama 3 vocabulary (128,256): the value table equals a float64 brute force over every token', async () => {
  await withModel({ tokenizer: 'llama3', nLayers: 2, dFf: 64 }, async (m) => {
    assert.equal(m.config.vocabSize, 128_256);
    const k = 8;
    const table = await computeValueTable(m, { k });
    const E = m.unembed().weight;
    for (const [layer, key] of [[0, 0], [0, 63], [1, 17]]) {
      const p = bruteProbs(row(m.values(layer), key), E);
      assert.deepEqual(table.top(layer, key).map((t) => t.id), ranked(p, k, true), `top of ${layer}/${key}`);
      assert.deepEqual(table.bottom(layer, key).map((t) => t.id), ranked(p, k, false), `bottom of ${layer}/${key}`);
      for (const t of [...table.top(layer, key), ...table.bottom(layer, key)]) assert.ok(Math.abs(t.prob - p[t.id]) <= 1e-5 * p[t.id] + 1e-9, `p(${t.id}) ${t.prob} vs ${p[t.id]}`);
    }
  });
});

test('Gemma 3 vocabulary (262,144): projections and ranks split into row chunks equal the brute force at every boundary', async () => {
  const step = rowsPerCall(262_144);
  await withModel({ tokenizer: 'gemma3', nLayers: 1, dFf: 2 * step + 40 }, async (m) => {
    const values = m.values(0);
    const n = values.shape[0];
    assert.ok(n > 2 * step, 'the layer needs three calls');
    const projector = await VocabProjector.for(m);
    const p = await projector.project(values, 3, { bottom: true });
    const E = m.unembed().weight;
    const rows = [0, step - 1, step, 2 * step - 1, 2 * step, n - 1];
    const targets = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 262_144);
    const ranks = await tokenRanks(m, values, targets);
    for (const i of rows) {
      const probs = bruteProbs(row(values, i), E);
      assert.deepEqual(Array.from(p.top.ids.subarray(3 * i, 3 * i + 3)), ranked(probs, 3, true), `top of row ${i}`);
      assert.deepEqual(Array.from(p.bottom!.ids.subarray(3 * i, 3 * i + 3)), ranked(probs, 3, false), `bottom of row ${i}`);
      const own = probs[targets[i]];
      assert.equal(ranks[i], 1 + probs.filter((q) => q > own).length, `rank in row ${i}`);
    }
  });
});

test('Gemma 3 vocabulary: inspect predicts what the final norm read through E predicts', async () => {
  await withModel({ tokenizer: 'gemma3', nLayers: 2, dFf: 64 }, async (m) => {
    const text = 'The café in 東京 serves 🙂 coffee';
    const r = await inspect(m, text);
    const ids = r.tokens.map((t) => t.id);
    const finalNorm = (await m.run([ids], [FINAL_NORM])).get(FINAL_NORM)!;
    const E = m.unembed().weight;
    for (let t = 0; t < ids.length; t++) {
      const probs = bruteProbs(finalNorm.data.subarray(t * m.config.dModel, (t + 1) * m.config.dModel), E);
      assert.deepEqual(r.predictions[t].map((x) => x.id), ranked(probs, r.predictions[t].length, true), `position ${t}`);
    }
    assert.equal(r.layers.length, 2);
    assert.ok(r.layers.every((l) => l.positions.length === ids.length && l.positions.every((p) => p.top.length > 0)));
  });
});
