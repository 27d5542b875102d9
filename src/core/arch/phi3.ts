/** Phi-3: Llama's layout with q/k/v fused in qkv_proj and gate/up fused in gate_up_proj. */
import { linearPart, torchLinear } from './convert';
import { convertLlama, LLAMA_FIELDS, parseLlamaConfig } from './llama';
import type { ArchFamily } from './types';

export const phi3: ArchFamily = {
  name: 'phi3',
  modelTypes: ['phi3'],
  defaults: { phi3: { rms_norm_eps: 1e-5 } },
  fields: { phi3: [...LLAMA_FIELDS, 'partial_rotary_factor', 'original_max_position_embeddings', 'sliding_window'] },
  parseConfig: (raw) => parseLlamaConfig(raw, 'phi3'),
  convert: (cfg, raw, w) => {
    const q = cfg.nHeads * cfg.headDim;
    const kv = cfg.nKvHeads * cfg.headDim;
    return convertLlama(cfg, raw, w, {
      // rows of qkv_proj: all queries, then keys, then values
      qkv: (b) => {
        const fused = torchLinear(w, `${b}.self_attn.qkv_proj`);
        return { q: linearPart(fused, 0, q), k: linearPart(fused, q, q + kv), v: linearPart(fused, q + kv, q + 2 * kv) };
      },
      // rows of gate_up_proj: the gate, then the up projection (transformers' chunk(2))
      mlp: (b) => {
        const fused = torchLinear(w, `${b}.mlp.gate_up_proj`);
        return { gate: linearPart(fused, 0, cfg.dFf), up: linearPart(fused, cfg.dFf, 2 * cfg.dFf), down: torchLinear(w, `${b}.mlp.down_proj`) };
      },
    });
  },
};
