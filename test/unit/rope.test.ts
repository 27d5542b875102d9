/**
 * Rope types beyond the reference sets (linear, dynamic, longrope, yarn), checked through
 * identities that must hold whatever the weights: LongRoPE with unit short factors is the
 * default rope up to its original context and, with long factors k and attention factor 1,
 * linear scaling by k past it; dynamic scaling equals the default rope within the context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core';
import { ropeSpec } from '../../src/core/arch/rope';
import { sharedOrSkip, tempDir } from '../support';

async function logitsWithRope(dir: string, rope: Record<string, unknown>, ids: number[]): Promise<Float32Array> {
  const out = tempDir();
  fs.copyFileSync(path.join(dir, 'model.safetensors'), path.join(out, 'model.safetensors'));
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify({ ...config, rope_parameters: { rope_theta: 10000, ...rope } }));
  const model = await loadModel(out, { noCache: true });
  try {
    return (await model.run([ids], ['logits'])).get('logits')!.data;
  } finally {
    await model.dispose();
  }
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test('LongRoPE switches from its short to its long factors past the original context, as transformers does', async (t) => {
  const dir = sharedOrSkip(t, 'conformance', 'llama');
  if (!dir) return;
  const half = 4; // head_dim 8
  const longrope = { rope_type: 'longrope', original_max_position_embeddings: 16, attention_factor: 1, short_factor: Array(half).fill(1), long_factor: Array(half).fill(4) };
  const short = Array.from({ length: 12 }, (_, i) => (i * 37) % 512);
  const long = Array.from({ length: 40 }, (_, i) => (i * 37) % 512);
  assert.ok(maxDiff(await logitsWithRope(dir, longrope, short), await logitsWithRope(dir, { rope_type: 'default' }, short)) < 1e-5, 'within the original context: the short factors');
  const past = await logitsWithRope(dir, longrope, long);
  assert.ok(maxDiff(past, await logitsWithRope(dir, { rope_type: 'linear', factor: 4 }, long)) < 1e-5, 'past it: the long factors');
  assert.ok(maxDiff(past, await logitsWithRope(dir, { rope_type: 'default' }, long)) > 1e-3, 'and the long factors change the result');
});

test('dynamic rope equals the default rope within the context', async (t) => {
  const dir = sharedOrSkip(t, 'conformance', 'llama');
  if (!dir) return;
  const ids = Array.from({ length: 40 }, (_, i) => (i * 11) % 512);
  assert.ok(maxDiff(await logitsWithRope(dir, { rope_type: 'dynamic', factor: 2 }, ids), await logitsWithRope(dir, { rope_type: 'default' }, ids)) === 0);
});

test('YaRN keeps high frequencies, interpolates low ones and scales by 0.1·ln(factor) + 1', () => {
  const settings = { dim: 8, interleaved: false, contextSize: 128 };
  const base = ropeSpec({ ...settings, params: { rope_type: 'default', rope_theta: 10000 } });
  const yarn = ropeSpec({ ...settings, params: { rope_type: 'yarn', rope_theta: 10000, factor: 4, original_max_position_embeddings: 32 } });
  // correction range for beta_fast 32 / beta_slow 1 at context 32, dim 8, base 1e4: [0, 1]
  assert.equal(yarn.invFreq[0], base.invFreq[0]);
  for (let i = 1; i < 4; i++) assert.ok(Math.abs(yarn.invFreq[i] - base.invFreq[i] / 4) <= 1e-7 * base.invFreq[i], `dim ${i} interpolated`);
  assert.ok(Math.abs(yarn.attentionFactor - (0.1 * Math.log(4) + 1)) < 1e-12);
  const linear = ropeSpec({ ...settings, params: { rope_type: 'linear', rope_theta: 10000, factor: 4 } });
  assert.deepEqual(Array.from(linear.invFreq), Array.from(base.invFreq).map((v) => Math.fround(v / 4)));
});

test('LongRoPE attention factor: sqrt(1 + ln(factor) / ln(original context)), the factor defaulting to the ratio of the contexts', () => {
  const params = { rope_type: 'longrope', rope_theta: 10000, short_factor: [1, 1, 1, 1], long_factor: [2, 2, 2, 2] };
  const spec = ropeSpec({ dim: 8, interleaved: false, contextSize: 128, originalContext: 16, params });
  assert.ok(Math.abs(spec.attentionFactor - Math.sqrt(1 + Math.log(8) / Math.log(16))) < 1e-12);
  assert.equal(spec.long?.longAfter, 16);
  const explicit = ropeSpec({ dim: 8, interleaved: false, contextSize: 128, originalContext: 16, params: { ...params, factor: 4 } });
  assert.ok(Math.abs(explicit.attentionFactor - Math.sqrt(1 + Math.log(4) / Math.log(16))) < 1e-12, 'an explicit factor wins');
  assert.throws(() => ropeSpec({ dim: 8, interleaved: false, contextSize: 128, params: { ...params, long_factor: [1, 2] } }), /long_factor must list 4 positive numbers/);
});
