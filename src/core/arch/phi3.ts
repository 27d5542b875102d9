/** Phi-3: Llama's layout with q/k/v fused in qkv_proj and gate/up fused in gate_up_proj. */
import { ropeParameters, type RawConfig } from './config';
import { linearPart, torchLinear } from './convert';
import { convertLlama, LLAMA_FIELDS, parseLlamaConfig } from './llama';
import type { ArchFamily } from './types';

/**
 * Phi3Config reads the rope type "yarn" as longrope and refuses any type but default and
 * longrope; the same here, so "yarn" is never YaRN. ("su", the first 128k checkpoints' name,
 * fails to load in transformers 5.17, so it stays an unknown type here.)
 */
function phi3Rope(raw: RawConfig): RawConfig {
  const params = ropeParameters(raw);
  const { type, ...rest } = params;
  const name = String(params.rope_type ?? type ?? 'default');
  const renamed = name === 'yarn' ? 'longrope' : name;
  if (renamed !== 'default' && renamed !== 'longrope') throw new Error(`config.json: Phi-3 supports the rope types default and longrope (got "${name}")`);
  return { ...raw, rope_scaling: null, rope_parameters: { ...rest, rope_type: renamed } };
}

export const phi3: ArchFamily = {
  name: 'phi3',
  modelTypes: ['phi3'],
  // the config class's original_max_position_embeddings (4096) wins over rope_parameters' own
  defaults: { phi3: { rms_norm_eps: 1e-5, original_max_position_embeddings: 4096 } },
  fields: { phi3: [...LLAMA_FIELDS, 'partial_rotary_factor', 'original_max_position_embeddings', 'sliding_window'] },
  parseConfig: (raw) => parseLlamaConfig(phi3Rope(raw), 'phi3'),
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
