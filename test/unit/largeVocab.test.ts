/**
 * Real large vocabularies (Llama 3's 128,256 and Gemma 3's 262,144 tokens, with their
 * own tokenizers) on small-width random models: the value table, projections split into
 * row chunks, token ranks and inspect's predictions all equal a float64 brute force
 * over the whole vocabulary, including rows on both sides of every chunk boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { computeValueTable, FINAL_NORM, inspect, loadModel, LOGITS, tokenRanks, VocabProjector, type Model } from '../../src/core';
import { rowsPerCall } from '../../src/core/analysis/vocab';
import { vocabRows } from '../../src/core/graph/transformer';
import { PREDICTION_IDS, PREDICTION_PROBS } from '../../src/core/hooks';
import type { HostTensor } from '../../src/core/tensor';
import { writeLargeVocabModel } from '../fixtures/largeVocab';
import { tempDir } from '../support';

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

/** x·E in float64, E as [d, V]. */
function logitsOf(x: Float32Array, E: HostTensor): Float64Array {
  const [d, V] = E.shape;
  const logits = new Float64Array(V);
  for (let i = 0; i < d; i++) {
    const row = E.data.subarray(i * V, (i + 1) * V);
    for (let j = 0; j < V; j++) logits[j] += x[i] * row[j];
  }
  return logits;
}

for (const precision of ['fp32', 'int8'] as const) {
  test(`Gemma 3 vocabulary, ${precision}: predictions and logits over 131 positions (three vocabulary steps, one padded row) equal the brute force; a tied unembedding is stored once`, async () => {
    const dModel = 128;
    const { dir } = writeLargeVocabModel({ tokenizer: 'gemma3', dModel, nLayers: 1, dFf: 64 });
    const cacheDir = tempDir();
    const m = await loadModel(dir, { cacheDir, precision });
    try {
      const V = m.config.vocabSize;
      const n = 131;
      assert.equal(Math.ceil(n / vocabRows(V)), 3, 'the pass takes three steps');
      const text = 'The café in 東京 serves 🙂 coffee, tea and cake to everyone who walks in. '.repeat(20);
      const ids = m.tokenizer.encode(text).slice(0, n);
      assert.equal(ids.length, n);
      const out = await m.run([ids], [FINAL_NORM, LOGITS, PREDICTION_PROBS, PREDICTION_IDS]);
      const logits = out.get(LOGITS)!;
      assert.deepEqual(logits.dims, [1, n, V]);
      const probs = out.get(PREDICTION_PROBS)!;
      const top = out.get(PREDICTION_IDS)!;
      const k = probs.dims[2];
      assert.deepEqual(probs.dims, [1, n, k]);
      // E as the graph computes with it (at int8, the dequantized codes of the embedding)
      const E = m.unembed().weight;
      for (const t of [0, 43, 44, 87, 88, n - 1]) {
        const exact = logitsOf(out.get(FINAL_NORM)!.data.subarray(t * dModel, (t + 1) * dModel), E);
        let maxErr = 0;
        for (let j = 0; j < V; j++) maxErr = Math.max(maxErr, Math.abs(logits.data[t * V + j] - exact[j]));
        assert.ok(maxErr < 1e-4, `logits at ${t}: max error ${maxErr}`);
        const max = exact.reduce((a, b) => Math.max(a, b), -Infinity);
        const sum = exact.reduce((a, l) => a + Math.exp(l - max), 0);
        const p = exact.map((l) => Math.exp(l - max) / sum);
        assert.deepEqual(Array.from(top.data.subarray(t * k, (t + 1) * k)), ranked(p, k, true), `top-${k} ids at ${t}`);
        // onnxruntime's float32 softmax over 262,144 terms: ~3e-5 relative measured
        for (let i = 0; i < k; i++) assert.ok(Math.abs(probs.data[t * k + i] - p[top.data[t * k + i]]) <= 1e-4 * p[top.data[t * k + i]] + 1e-9, `p at ${t}, rank ${i}: ${probs.data[t * k + i]} vs ${p[top.data[t * k + i]]}`);
      }
      // the graph holds the [V, d] table once: as fp32, or as 8-bit codes (+ 1/8 scales, 1/32 zero points)
      const [data] = fs.readdirSync(path.join(cacheDir, 'graphs')).filter((f) => f.endsWith('.onnx.data'));
      const table = precision === 'fp32' ? 4 * V * dModel : V * dModel * (1 + 1 / 8 + 1 / 32);
      const size = fs.statSync(path.join(cacheDir, 'graphs', data)).size;
      assert.ok(size < 1.3 * table, `graph weights ${size} bytes for a ${table}-byte table`);
    } finally {
      await m.dispose();
    }
  });
}

test('the value table scored in several vocabulary parts equals the one-part table, tied or not, and leaves no file behind', async () => {
  for (const untied of [false, true]) {
    const cacheDir = tempDir();
    const m = await loadModel(writeLargeVocabModel({ tokenizer: 'llama3', nLayers: 2, dFf: 48, untied }).dir, { cacheDir });
    try {
      const before = fs.readdirSync(cacheDir, { recursive: true }).sort();
      const k = 6;
      const whole = await computeValueTable(m, { k });
      // at most 40,000 tokens per part at d_model 64: 128,256 tokens in 4 equal parts
      const progress: string[] = [];
      const parts = await computeValueTable(m, { k, partBytes: 40_000 * 64 * 4, batchSize: 40, onProgress: (p) => progress.push(`${p.part}/${p.parts}`) });
      assert.deepEqual([...new Set(progress)], ['0/4', '1/4', '2/4', '3/4']);
      await assert.rejects(computeValueTable(m, { k, partBytes: 100 }), /partBytes must be at least one token's row of Eᵀ \(256 bytes\), got 100/);
      assert.deepEqual(fs.readdirSync(cacheDir, { recursive: true }).sort(), before, 'no temporary graph files are left');
      assert.deepEqual(parts.data.topIds, whole.data.topIds, `top ids (untied ${untied})`);
      assert.deepEqual(parts.data.bottomIds, whole.data.bottomIds, `bottom ids (untied ${untied})`);
      for (const side of ['topProbs', 'bottomProbs', 'maxProb'] as const) {
        const a = parts.data[side];
        const b = whole.data[side];
        for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * b[i], `${side}[${i}] ${a[i]} vs ${b[i]}`);
      }
      const E = m.unembed().weight;
      const p = bruteProbs(row(m.values(1), 47), E);
      assert.deepEqual(parts.top(1, 47).map((t) => t.id), ranked(p, k, true));
      for (const t of parts.top(1, 47)) assert.ok(Math.abs(t.prob - p[t.id]) <= 1e-5 * p[t.id], `p(${t.id}) ${t.prob} vs ${p[t.id]}`);
    } finally {
      await m.dispose();
    }
  }
});
