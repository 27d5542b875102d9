/**
 * How configs select and parameterise the scaled rope types (their numbers are checked
 * against transformers by the conformance sets in test/fixtures/conformance-rope): which
 * original context and which parameter object win where a config gives two, Phi-3's
 * reading of "yarn", and how far a dynamic-NTK model reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core';
import { familyFor } from '../../src/core/arch/registry';
import { ropeSpec } from '../../src/core/arch/rope';
import type { RawConfig } from '../../src/core/arch/raw';
import { tempDir } from '../support';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'conformance-rope');
const fixtureConfig = (name: string) => JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'config.json'), 'utf8')) as RawConfig;
const parse = (raw: RawConfig) => familyFor(raw.model_type).parseConfig(raw);

test('YaRN keeps high frequencies, interpolates low ones and scales by 0.1·ln(factor) + 1', () => {
  const settings = { dim: 8, interleaved: false, contextSize: 128 };
  const base = ropeSpec({ ...settings, params: { rope_type: 'default', rope_theta: 10000 } });
  const yarn = ropeSpec({ ...settings, params: { rope_type: 'yarn', rope_theta: 10000, factor: 4, original_max_position_embeddings: 32 } });
  // correction range for beta_fast 32 / beta_slow 1 at context 32, dim 8, base 1e4: [0, 1]
  assert.equal(yarn.invFreq[0], base.invFreq[0]);
  for (let i = 1; i < 4; i++) assert.ok(Math.abs(yarn.invFreq[i] - base.invFreq[i] / 4) <= 1e-7 * base.invFreq[i], `dim ${i} interpolated`);
  assert.ok(Math.abs(yarn.attentionFactor - (0.1 * Math.log(4) + 1)) < 1e-12);
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

test("Phi-3's top-level original_max_position_embeddings wins over rope_parameters' own, and defaults to 4096 (transformers' Phi3Config)", () => {
  const raw = fixtureConfig('phi3_longrope');
  const switchAt = (c: RawConfig) => parse(c).rope[0]?.long?.longAfter;
  assert.equal(switchAt(raw), 32);
  const params = raw.rope_parameters as RawConfig;
  assert.equal(switchAt({ ...raw, rope_parameters: { ...params, original_max_position_embeddings: 64 } }), 32, 'the top-level value wins');
  const { original_max_position_embeddings: _, ...withoutTop } = raw;
  assert.equal(switchAt(withoutTop), 4096, "without it, the config class's default");
});

test('Phi-3 reads rope type "yarn" as longrope and refuses other scalings, as its config class does', () => {
  const raw = fixtureConfig('phi3_longrope');
  const params = raw.rope_parameters as RawConfig;
  assert.deepEqual(parse({ ...raw, rope_parameters: { ...params, rope_type: 'yarn' } }).rope, parse(raw).rope);
  assert.throws(() => parse({ ...raw, rope_parameters: { rope_type: 'linear', factor: 2, rope_theta: 10000 } }), /Phi-3 supports the rope types default and longrope \(got "linear"\)/);
});

test('a legacy rope_scaling wins over rope_parameters unless it is null or empty, as in transformers', () => {
  const raw = fixtureConfig('llama_yarn');
  const linear = { rope_type: 'linear', factor: 4, rope_theta: 10000 };
  assert.deepEqual(parse({ ...raw, rope_scaling: linear }).rope, parse(fixtureConfig('llama_linear')).rope);
  assert.deepEqual(parse({ ...raw, rope_scaling: null }).rope, parse(raw).rope);
  assert.deepEqual(parse({ ...raw, rope_scaling: {} }).rope, parse(raw).rope);
});

test('a dynamic-NTK model reads up to factor × max_position_embeddings tokens and refuses more', async () => {
  const model = await loadModel(path.join(FIXTURES, 'llama_dynamic'), { cacheDir: tempDir() });
  try {
    assert.equal(model.config.contextSize, 64); // max_position_embeddings 32, factor 2
    const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 37) % 512);
    const out = await model.run([ids(64)], ['logits']);
    assert.ok(out.get('logits')!.data.every(Number.isFinite));
    await assert.rejects(model.run([ids(65)], ['logits']), /65 tokens exceed the model's context of 64/);
  } finally {
    await model.dispose();
  }
});
