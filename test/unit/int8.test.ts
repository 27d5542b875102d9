/**
 * int8 mode against fp32 on real checkpoints and held-out text: the top-1 next-token
 * prediction agrees at ≥ 97% of positions and all memory coefficients correlate at
 * ≥ 0.99 (Pearson), while hooks and coefficients stay fp32 tensors of the same shapes.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hookName, loadModel, type Model } from '../../src/core';
import { PREDICTION_IDS } from '../../src/core/hooks';
import { transpose2d } from '../../src/core/tensor';
import { sharedOrSkip, tempDir } from '../support';

/** `count` windows of `width` tokens, taken evenly from the tokenized texts. */
function windows(model: Model, texts: string[], width: number, count: number): number[][] {
  const ids = texts.flatMap((t) => model.tokenizer.encode(t));
  const step = Math.floor((ids.length - width) / count);
  assert.ok(step >= width, `the corpus has ${ids.length} tokens, too few for ${count} windows of ${width}`);
  return Array.from({ length: count }, (_, i) => ids.slice(i * step, i * step + width));
}

interface Agreement {
  positions: number;
  top1: number;
  pearson: number;
}

async function agreement(spec: string, texts: string[], width: number, count: number): Promise<Agreement> {
  const cacheDir = tempDir();
  const fp32 = await loadModel(spec, { cacheDir });
  const int8 = await loadModel(spec, { cacheDir, precision: 'int8' });
  try {
    const hooks = [PREDICTION_IDS, ...Array.from({ length: fp32.config.nLayers }, (_, l) => hookName(l, 'mlp.coeff'))];
    let same = 0;
    let positions = 0;
    // running sums for Pearson's r over every coefficient of every layer
    let n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (const w of windows(fp32, texts, width, count)) {
      const a = await fp32.run([w], hooks);
      const b = await int8.run([w], hooks);
      const pa = a.get(PREDICTION_IDS)!;
      const pb = b.get(PREDICTION_IDS)!;
      const k = pa.dims[2];
      for (let t = 0; t < width; t++) same += pa.data[t * k] === pb.data[t * k] ? 1 : 0;
      positions += width;
      for (const h of hooks.slice(1)) {
        const x = a.get(h)!;
        const y = b.get(h)!;
        assert.deepEqual(y.dims, x.dims, `${h} keeps its shape`);
        assert.ok(y.data instanceof Float32Array, `${h} stays fp32`);
        for (let i = 0; i < x.data.length; i++) {
          const u = x.data[i];
          const v = y.data[i];
          n++;
          sx += u;
          sy += v;
          sxx += u * u;
          syy += v * v;
          sxy += u * v;
        }
      }
    }
    const pearson = (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
    return { positions, top1: same / positions, pearson };
  } finally {
    await fp32.dispose();
    await int8.dispose();
  }
}

function report(t: TestContext, name: string, r: Agreement): void {
  t.diagnostic(`${name} int8 vs fp32: top-1 agreement ${(100 * r.top1).toFixed(2)}% of ${r.positions} positions, Pearson r of all coefficients ${r.pearson.toFixed(5)}`);
  assert.ok(r.top1 >= 0.97, `top-1 agreement ${r.top1}`);
  assert.ok(r.pearson >= 0.99, `Pearson ${r.pearson}`);
}

test('int8: gpt2-books on books-heldout agrees with fp32', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'gpt2-books');
  const books = sharedOrSkip(t, 'corpora', 'books-heldout');
  if (!spec || !books) return;
  const texts = fs.readdirSync(books).sort().map((f) => fs.readFileSync(path.join(books, f), 'utf8'));
  report(t, 'gpt2-books', await agreement(spec, texts, 128, 16));
});

test('int8: stories260K on the TinyStories sample agrees with fp32', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'stories260K', 'stories260K.bin');
  const stories = sharedOrSkip(t, 'corpora', 'tinystories-valid-sample.txt');
  if (!spec || !stories) return;
  report(t, 'stories260K', await agreement(spec, [fs.readFileSync(stories, 'utf8')], 256, 8));
});

test('int8: analyses read the dequantized weights the graph computes with', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'stories260K', 'stories260K.bin');
  if (!spec) return;
  const cacheDir = tempDir();
  const fp32 = await loadModel(spec, { cacheDir });
  const int8 = await loadModel(spec, { cacheDir, precision: 'int8' });
  try {
    for (const [what, a, b] of [['values', fp32.values(2), int8.values(2)], ['keys', fp32.keys(2), int8.keys(2)], ['unembed', fp32.unembed().weight, int8.unembed().weight]] as const) {
      assert.deepEqual(b.shape, a.shape, what);
      let maxAbs = 0;
      let maxErr = 0;
      for (let i = 0; i < a.data.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(a.data[i]));
        maxErr = Math.max(maxErr, Math.abs(a.data[i] - b.data[i]));
      }
      // each value is within half a quantization step of its block, at most max|w|/254
      assert.ok(maxErr <= maxAbs / 254 + 1e-7, `${what}: error ${maxErr} for max |w| ${maxAbs}`);
      assert.ok(maxErr > 0, `${what}: int8 values are the quantized ones`);
    }
    // one token's column, read alone, and Eᵀ read in bands, are the whole matrix's at either precision
    for (const m of [fp32, int8]) {
      const { weight } = m.unembed();
      const [d, V] = weight.shape;
      const { rows } = m.unembedRows();
      assert.deepEqual(rows.shape, [V, d]);
      assert.deepEqual(rows.data, transpose2d(weight).data, `${m.info.precision} Eᵀ`);
      for (const id of [0, 1, V >> 1, V - 1]) {
        const column = Array.from({ length: d }, (_, i) => weight.data[i * V + id]);
        assert.deepEqual(Array.from(m.unembedColumn(id).weight), column, `${m.info.precision} column ${id}`);
      }
    }
  } finally {
    await fp32.dispose();
    await int8.dispose();
  }
});
