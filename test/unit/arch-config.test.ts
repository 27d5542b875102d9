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
  assert.throws(() => familyFor('gpt2').parseConfig({ ...raw, n_inner: '256' }), /"n_inner" must be a number/, 'a value given is checked, not replaced by the default');
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

/** config.json of public checkpoints as the hub serves them (written by older transformers), abridged to the fields that matter. */
const HUB_CONFIGS: Record<string, Record<string, unknown>> = {
  'meta-llama/Llama-3.2-1B': {
    architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0, bos_token_id: 128000, eos_token_id: 128001, head_dim: 64, hidden_act: 'silu',
    hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false, model_type: 'llama', num_attention_heads: 32,
    num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1, rms_norm_eps: 1e-5,
    rope_scaling: { factor: 32, high_freq_factor: 4, low_freq_factor: 1, original_max_position_embeddings: 8192, rope_type: 'llama3' }, rope_theta: 500000,
    tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.45.0.dev0', use_cache: true, vocab_size: 128256,
  },
  'Qwen/Qwen2.5-0.5B': {
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0, bos_token_id: 151643, eos_token_id: 151643, hidden_act: 'silu', hidden_size: 896, initializer_range: 0.02,
    intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 24, model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
    rms_norm_eps: 1e-6, rope_theta: 1000000, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16', transformers_version: '4.40.1', use_cache: true,
    use_sliding_window: false, vocab_size: 151936, use_mrope: false,
  },
  'google/gemma-2-2b': {
    architectures: ['Gemma2ForCausalLM'], attention_bias: false, attention_dropout: 0, attn_logit_softcapping: 50, bos_token_id: 2, cache_implementation: 'hybrid', eos_token_id: 1,
    final_logit_softcapping: 30, head_dim: 256, hidden_act: 'gelu_pytorch_tanh', hidden_activation: 'gelu_pytorch_tanh', hidden_size: 2304, initializer_range: 0.02,
    intermediate_size: 9216, max_position_embeddings: 8192, model_type: 'gemma2', num_attention_heads: 8, num_hidden_layers: 26, num_key_value_heads: 4, pad_token_id: 0,
    query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_theta: 10000, sliding_window: 4096, torch_dtype: 'float32', transformers_version: '4.42.4', use_cache: true, vocab_size: 256000,
  },
  'google/gemma-3-1b-pt': {
    architectures: ['Gemma3ForCausalLM'], attention_bias: false, attention_dropout: 0, attn_logit_softcapping: null, bos_token_id: 2, cache_implementation: 'hybrid', eos_token_id: 1,
    final_logit_softcapping: null, head_dim: 256, hidden_activation: 'gelu_pytorch_tanh', hidden_size: 1152, initializer_range: 0.02, intermediate_size: 6912,
    max_position_embeddings: 32768, model_type: 'gemma3_text', num_attention_heads: 4, num_hidden_layers: 26, num_key_value_heads: 1, pad_token_id: 0, query_pre_attn_scalar: 256,
    rms_norm_eps: 1e-6, rope_local_base_freq: 10000, rope_scaling: null, rope_theta: 1000000, sliding_window: 512, sliding_window_pattern: 6, torch_dtype: 'bfloat16',
    transformers_version: '4.50.0.dev0', use_cache: true, vocab_size: 262144,
  },
  'microsoft/Phi-3-mini-4k-instruct': {
    architectures: ['Phi3ForCausalLM'], attention_bias: false, attention_dropout: 0, auto_map: {}, bos_token_id: 1, embd_pdrop: 0, eos_token_id: 32000, hidden_act: 'silu',
    hidden_size: 3072, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 4096, model_type: 'phi3', num_attention_heads: 32, num_hidden_layers: 32,
    num_key_value_heads: 32, original_max_position_embeddings: 4096, pad_token_id: 32000, resid_pdrop: 0, rms_norm_eps: 1e-5, rope_scaling: null, rope_theta: 10000,
    sliding_window: 2047, tie_word_embeddings: false, torch_dtype: 'bfloat16', transformers_version: '4.40.2', use_cache: true, vocab_size: 32064,
  },
  'bigcode/starcoder2-3b': {
    architectures: ['Starcoder2ForCausalLM'], attention_dropout: 0.1, residual_dropout: 0.1, embedding_dropout: 0.1, bos_token_id: 0, eos_token_id: 0, hidden_act: 'gelu_pytorch_tanh',
    hidden_size: 3072, initializer_range: 0.018042, intermediate_size: 12288, max_position_embeddings: 16384, mlp_type: 'default', model_type: 'starcoder2', norm_epsilon: 1e-5,
    norm_type: 'layer_norm', num_attention_heads: 24, num_hidden_layers: 30, num_key_value_heads: 2, rope_theta: 999999.4420358813, sliding_window: 4096,
    transformers_version: '4.37.0.dev0', use_bias: true, use_cache: true, vocab_size: 49152,
  },
};

test('configs of public checkpoints, as the hub serves them, are read', () => {
  for (const [name, raw] of Object.entries(HUB_CONFIGS)) {
    const cfg = familyFor(raw.model_type).parseConfig(raw);
    assert.equal(cfg.rope.length, cfg.nLayers, name);
  }
  const gemma3 = familyFor('gemma3_text').parseConfig(HUB_CONFIGS['google/gemma-3-1b-pt']);
  assert.deepEqual(gemma3.attnWindow.slice(0, 6), [512, 512, 512, 512, 512, 0], 'every sixth Gemma 3 layer is global');
  const phi3 = familyFor('phi3').parseConfig(HUB_CONFIGS['microsoft/Phi-3-mini-4k-instruct']);
  assert.ok(phi3.attnWindow.every((w) => w === 2047), 'Phi-3 slides in every layer');
  const qwen = familyFor('qwen2').parseConfig(HUB_CONFIGS['Qwen/Qwen2.5-0.5B']);
  assert.ok(qwen.attnWindow.every((w) => w === 0), 'use_sliding_window: false');
});

test("a field a config omits means what transformers' config class defaults it to", () => {
  const llamaLike = { hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 128, vocab_size: 512, max_position_embeddings: 8192 };
  assert.deepEqual(familyFor('mistral').parseConfig({ ...llamaLike, model_type: 'mistral' }).attnWindow, [4096, 4096], 'Mistral slides over 4096 by default');
  assert.deepEqual(familyFor('mistral').parseConfig({ ...llamaLike, model_type: 'mistral', sliding_window: null }).attnWindow, [0, 0], 'an explicit null turns it off');
  const gemma2 = familyFor('gemma2').parseConfig({ ...llamaLike, model_type: 'gemma2' });
  assert.deepEqual([gemma2.attnSoftcap, gemma2.finalSoftcap, gemma2.attnScale[0]], [50, 30, 1 / 16]);
  assert.equal(familyFor('olmo2').parseConfig({ ...llamaLike, model_type: 'olmo2' }).normEps, 1e-5);
  const neox = familyFor('gpt_neox').parseConfig({ ...llamaLike, model_type: 'gpt_neox' });
  assert.equal(neox.rope[0]!.dim, 4, 'GPT-NeoX rotates a quarter of each 16-wide head');
});
