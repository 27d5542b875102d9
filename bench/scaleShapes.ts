/**
 * Random-weight checkpoints with the exact shapes of real models, written as bf16
 * safetensors tensor by tensor (our own writer: no Python, nothing held whole), with a
 * real tokenizer beside them. For bench:scale and the size tests; never for exactness.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { toBfloat16, writeSafetensorsFile, type TensorSpec } from '../src/core/load/safetensors';

export interface ShapeSpec {
  name: string;
  config: Record<string, unknown>;
  tensors: TensorSpec[];
  /** A tokenizer.json to copy beside the weights. */
  tokenizer: string;
}

const bf16 = (name: string, shape: number[]): TensorSpec => ({ name, dtype: 'BF16', shape });

export function gpt2Small(tokenizer: string): ShapeSpec {
  const d = 768;
  const L = 12;
  const V = 50257;
  const t: TensorSpec[] = [bf16('transformer.wte.weight', [V, d]), bf16('transformer.wpe.weight', [1024, d])];
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}`;
    t.push(bf16(`${p}.ln_1.weight`, [d]), bf16(`${p}.ln_1.bias`, [d]), bf16(`${p}.attn.c_attn.weight`, [d, 3 * d]), bf16(`${p}.attn.c_attn.bias`, [3 * d]));
    t.push(bf16(`${p}.attn.c_proj.weight`, [d, d]), bf16(`${p}.attn.c_proj.bias`, [d]), bf16(`${p}.ln_2.weight`, [d]), bf16(`${p}.ln_2.bias`, [d]));
    t.push(bf16(`${p}.mlp.c_fc.weight`, [d, 4 * d]), bf16(`${p}.mlp.c_fc.bias`, [4 * d]), bf16(`${p}.mlp.c_proj.weight`, [4 * d, d]), bf16(`${p}.mlp.c_proj.bias`, [d]));
  }
  t.push(bf16('transformer.ln_f.weight', [d]), bf16('transformer.ln_f.bias', [d]));
  const config = { model_type: 'gpt2', n_layer: L, n_embd: d, n_head: 12, n_positions: 1024, vocab_size: V, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, tie_word_embeddings: true };
  return { name: 'gpt2-small-shape', config, tensors: t, tokenizer };
}

interface LlamaShape {
  name: string;
  modelType: string;
  d: number;
  L: number;
  heads: number;
  kvHeads: number;
  dFf: number;
  V: number;
  context: number;
  theta: number;
  qkvBias: boolean;
}

function llamaLike(s: LlamaShape, tokenizer: string): ShapeSpec {
  const hd = s.d / s.heads;
  const t: TensorSpec[] = [bf16('model.embed_tokens.weight', [s.V, s.d])];
  for (let l = 0; l < s.L; l++) {
    const p = `model.layers.${l}`;
    t.push(bf16(`${p}.input_layernorm.weight`, [s.d]), bf16(`${p}.post_attention_layernorm.weight`, [s.d]));
    for (const [n, out] of [['q', s.heads * hd], ['k', s.kvHeads * hd], ['v', s.kvHeads * hd]] as const) {
      t.push(bf16(`${p}.self_attn.${n}_proj.weight`, [out, s.d]));
      if (s.qkvBias) t.push(bf16(`${p}.self_attn.${n}_proj.bias`, [out]));
    }
    t.push(bf16(`${p}.self_attn.o_proj.weight`, [s.d, s.heads * hd]));
    t.push(bf16(`${p}.mlp.gate_proj.weight`, [s.dFf, s.d]), bf16(`${p}.mlp.up_proj.weight`, [s.dFf, s.d]), bf16(`${p}.mlp.down_proj.weight`, [s.d, s.dFf]));
  }
  t.push(bf16('model.norm.weight', [s.d]));
  const config = {
    model_type: s.modelType,
    hidden_size: s.d,
    num_hidden_layers: s.L,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: hd,
    intermediate_size: s.dFf,
    vocab_size: s.V,
    max_position_embeddings: s.context,
    rms_norm_eps: 1e-5,
    hidden_act: 'silu',
    rope_theta: s.theta,
    tie_word_embeddings: true,
  };
  return { name: s.name, config, tensors: t, tokenizer };
}

/** Qwen2.5-0.5B: q/k/v biases, 2 KV heads, vocabulary 151,936. */
export const qwen25Half = (tokenizer: string): ShapeSpec =>
  llamaLike({ name: 'qwen2.5-0.5b-shape', modelType: 'qwen2', d: 896, L: 24, heads: 14, kvHeads: 2, dFf: 4864, V: 151936, context: 32768, theta: 1e6, qkvBias: true }, tokenizer);

/**
 * Llama-3.2-1B, vocabulary 128,256. Its real config has rope_type "llama3" (frequency
 * scaling); this one keeps the default rope, which changes no shape or size.
 */
export const llama32One = (tokenizer: string): ShapeSpec =>
  llamaLike({ name: 'llama-3.2-1b-shape', modelType: 'llama', d: 2048, L: 16, heads: 32, kvHeads: 8, dFf: 8192, V: 128256, context: 131072, theta: 500000, qkvBias: false }, tokenizer);

/** Deterministic pseudo-normal bf16 values (std ≈ 0.02; norm weights are 1), fast enough for a billion. */
function randomBf16(spec: TensorSpec, seed: number): Uint8Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Uint16Array(n);
  if (/norm|ln_\d|ln_f/.test(spec.name) && spec.name.endsWith('weight')) {
    out.fill(0x3f80); // 1.0
    return new Uint8Array(out.buffer);
  }
  const f = new Float32Array(1 << 16);
  let x = seed >>> 0 || 1;
  for (let start = 0; start < n; start += f.length) {
    const m = Math.min(f.length, n - start);
    for (let i = 0; i < m; i++) {
      // sum of 4 uniforms (xorshift32): roughly normal, std ≈ 0.577 · scale
      let s = 0;
      for (let j = 0; j < 4; j++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        s += (x >>> 0) / 4294967296;
      }
      f[i] = (s - 2) * 0.0347;
    }
    out.set(toBfloat16(f.subarray(0, m)), start);
  }
  return new Uint8Array(out.buffer);
}

/** Writes the checkpoint into `dir` (skipped when a complete one is there already); returns its weight bytes at fp32. */
export function writeShape(spec: ShapeSpec, dir: string): { fp32Bytes: number; params: number } {
  const params = spec.tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
  const done = path.join(dir, '.complete');
  if (!fs.existsSync(done)) {
    fs.mkdirSync(dir, { recursive: true });
    let seed = 1;
    writeSafetensorsFile(path.join(dir, 'model.safetensors'), spec.tensors, (t) => randomBf16(t, seed++ * 2654435761));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec.config, null, 2));
    fs.copyFileSync(spec.tokenizer, path.join(dir, 'tokenizer.json'));
    fs.writeFileSync(done, '');
  }
  return { fp32Bytes: 4 * params, params };
}
