/**
 * Config readers refuse what they do not implement and check what they read: unknown
 * fields by name, sizes that are not bounded whole numbers, heads that do not divide the
 * width, checkpoints with tensors the config leaves unused, and architectures whose FFN
 * is not one memory bank per layer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core';
import { familyFor } from '../../src/core/arch/registry';
import { COMMON_FIELDS, HARMLESS_FIELDS } from '../../src/core/arch/fields';
import { sharedOrSkip, tempDir } from '../support';

const readConfig = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;

/** A copy of a conformance model whose config.json is edited by `edit`. */
function edited(dir: string, edit: (c: Record<string, unknown>) => Record<string, unknown>): string {
  const out = tempDir();
  fs.copyFileSync(path.join(dir, 'model.safetensors'), path.join(out, 'model.safetensors'));
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(edit(readConfig(dir))));
  return out;
}

test('every field of every reference config is implemented by its family or known to be harmless', (t) => {
  const root = sharedOrSkip(t, 'conformance');
  if (!root) return;
  const sets = fs.readdirSync(root).filter((d) => fs.existsSync(path.join(root, d, 'config.json')));
  assert.ok(sets.length >= 20, `${sets.length} reference sets`);
  for (const set of sets) {
    const raw = readConfig(path.join(root, set));
    const implemented = familyFor(raw.model_type).fields[String(raw.model_type)];
    assert.ok(implemented, `${set}: the family lists its fields for model_type ${String(raw.model_type)}`);
    const neither = Object.keys(raw).filter((k) => !implemented.includes(k) && !HARMLESS_FIELDS.includes(k) && !COMMON_FIELDS.includes(k));
    assert.deepEqual(neither, [], `${set}: fields in neither list`);
    assert.doesNotThrow(() => familyFor(raw.model_type).parseConfig(raw), `${set} parses`);
  }
});

test('a config field the family does not implement is refused, naming the field and its value', () => {
  const raw = { model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 512, max_position_embeddings: 64 };
  assert.doesNotThrow(() => familyFor('llama').parseConfig(raw));
  // Llama in transformers ignores sliding_window; applying it or dropping it would both be a guess
  assert.throws(() => familyFor('llama').parseConfig({ ...raw, sliding_window: 16 }), /sliding_window = 16/);
  assert.throws(() => familyFor('llama').parseConfig({ ...raw, attn_logit_softcapping: 30 }), /attn_logit_softcapping = 30.*not implemented/);
  assert.throws(() => familyFor('llama').parseConfig({ ...raw, rope_parameters: { rope_type: 'su', factor: 2 } }), /rope type "su" is not supported/);
  assert.throws(() => familyFor('llama').parseConfig({ ...raw, rope_parameters: { rope_type: 'linear', factor: 2, mystery: 1 } }), /rope_parameters\.mystery/);
  assert.throws(() => familyFor('gemma2').parseConfig({ ...raw, model_type: 'gemma2', use_bidirectional_attention: true }), /use_bidirectional_attention = true/);
});

test('sizes must be bounded whole numbers and heads must divide the width', () => {
  const raw = { model_type: 'gpt2', n_embd: 64, n_head: 4, n_layer: 2, n_positions: 16, vocab_size: 50 };
  assert.doesNotThrow(() => familyFor('gpt2').parseConfig(raw));
  for (const bad of [1e9, 0, -2, 2.5, '2', null]) {
    assert.throws(() => familyFor('gpt2').parseConfig({ ...raw, n_layer: bad }), /"n_layer"|missing number "n_layer"/, `n_layer ${String(bad)}`);
  }
  assert.throws(() => familyFor('gpt2').parseConfig({ ...raw, n_head: 5 }), /5 attention heads do not divide the width 64/);
  assert.throws(() => familyFor('gpt2').parseConfig({ ...raw, vocab_size: 2 ** 40 }), /"vocab_size" must be a whole number from 1 to/);
  assert.throws(() => familyFor('llama').parseConfig({ model_type: 'llama', hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 3, intermediate_size: 8, vocab_size: 8, max_position_embeddings: 8 }), /3 key\/value heads do not divide 4/);
});

test('mixture-of-experts, hybrid and per-layer-embedding models are refused with the reason', () => {
  assert.throws(() => familyFor('mixtral'), /model_type "mixtral": mixture-of-experts/);
  assert.throws(() => familyFor('qwen3_moe'), /mixture-of-experts/);
  assert.throws(() => familyFor('olmoe'), /mixture-of-experts/);
  assert.throws(() => familyFor('gemma3n'), /per-layer embeddings/);
  assert.throws(() => familyFor('qwen3_next'), /hybrid/);
  assert.throws(() => familyFor('mamba'), /unsupported architecture/);
});

test('a config with fewer layers than the checkpoint fails naming the unused tensors', async (t) => {
  const dir = sharedOrSkip(t, 'conformance', 'gpt2');
  if (!dir) return;
  const one = edited(dir, (c) => ({ ...c, n_layer: 1 }));
  await assert.rejects(loadModel(one, { noCache: true }), (e: Error) => /tensor\(s\) would be ignored: .*transformer\.h\.1\./.test(e.message));
});

test('a Gemma 3 config in the older form (no layer_types, rope_local_base_freq) reads like the transformers 5 form', (t) => {
  const dir = sharedOrSkip(t, 'conformance', 'gemma3');
  if (!dir) return;
  const modern = readConfig(dir);
  const { layer_types: _types, rope_parameters: rope, ...rest } = modern;
  const params = rope as Record<string, Record<string, unknown>>;
  const old = { ...rest, sliding_window_pattern: 2, rope_theta: params.full_attention.rope_theta, rope_local_base_freq: params.sliding_attention.rope_theta, rope_scaling: null };
  delete (old as Record<string, unknown>)._sliding_window_pattern;
  const a = familyFor('gemma3_text').parseConfig(modern);
  const b = familyFor('gemma3_text').parseConfig(old);
  assert.deepEqual(b.attnWindow, a.attnWindow);
  assert.deepEqual(b.rope.map((r) => Array.from(r!.invFreq)), a.rope.map((r) => Array.from(r!.invFreq)));
  assert.notDeepEqual(Array.from(a.rope[0]!.invFreq), Array.from(a.rope[1]!.invFreq), 'local and global layers rotate differently');
});

test('a deeply nested config and a weight_map with numbers fail with clear errors', async (t) => {
  const dir = sharedOrSkip(t, 'conformance', 'gpt2');
  if (!dir) return;
  const deep = tempDir();
  fs.copyFileSync(path.join(dir, 'model.safetensors'), path.join(deep, 'model.safetensors'));
  const config = fs.readFileSync(path.join(dir, 'config.json'), 'utf8').trim();
  fs.writeFileSync(path.join(deep, 'config.json'), `${config.slice(0, -1)}, "deep": ${'['.repeat(100000)}${']'.repeat(100000)}}`);
  await assert.rejects(loadModel(deep, { noCache: true }), /config\.json is not valid JSON .*nested deeper than 32 levels/);

  const sharded = tempDir();
  fs.copyFileSync(path.join(dir, 'model.safetensors'), path.join(sharded, 'model.safetensors'));
  fs.copyFileSync(path.join(dir, 'config.json'), path.join(sharded, 'config.json'));
  fs.writeFileSync(path.join(sharded, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'transformer.wte.weight': 1 } }));
  await assert.rejects(loadModel(sharded, { noCache: true }), /every "weight_map" entry must name a shard file/);
});
