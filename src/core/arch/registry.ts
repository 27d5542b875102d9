/** model_type → architecture family; the one place that knows every family. */
import { gemma } from './gemma';
import { gpt2 } from './gpt2';
import { gptBigcode } from './gpt_bigcode';
import { gptNeo } from './gpt_neo';
import { gptNeox } from './gpt_neox';
import { gptj } from './gptj';
import { granite } from './granite';
import { llama } from './llama';
import { olmo2 } from './olmo2';
import { opt } from './opt';
import { phi } from './phi';
import { phi3 } from './phi3';
import { starcoder2 } from './starcoder2';
import { checkFields } from './fields';
import type { ArchFamily } from './types';
import { checkAllUsed, trackWeights } from './usage';

const FAMILIES: ArchFamily[] = [gpt2, gptNeox, opt, llama, gemma, phi, phi3, olmo2, granite, starcoder2, gptBigcode, gptNeo, gptj];

/**
 * Architectures whose FFN is not one key–value memory per layer, refused with the reason
 * rather than as merely unknown: the paper's reading (one coefficient per key) does not
 * carry over to them unchanged.
 */
const NOT_YET: Record<string, string> = {
  ...Object.fromEntries(
    ['mixtral', 'qwen2_moe', 'qwen3_moe', 'olmoe', 'phimoe', 'granitemoe', 'granitemoeshared', 'deepseek_v2', 'deepseek_v3', 'dbrx', 'jetmoe', 'gpt_oss', 'llama4', 'llama4_text', 'minimax', 'hunyuan_v1_moe', 'ernie4_5_moe', 'glm4_moe'].map((t) => [
      t,
      'mixture-of-experts models route each token to a few expert FFNs, so a layer has several memory banks',
    ]),
  ),
  ...Object.fromEntries(
    ['jamba', 'bamba', 'zamba', 'zamba2', 'falcon_h1', 'granitemoehybrid', 'nemotron_h', 'qwen3_next', 'qwen3_5', 'qwen3_5_moe', 'qwen3_5_text', 'lfm2', 'recurrent_gemma', 'mamba', 'mamba2', 'rwkv', 'falcon_mamba'].map((t) => [
      t,
      'hybrid and recurrent models mix attention with state-space or recurrent layers FFN Lens does not build',
    ]),
  ),
  ...Object.fromEntries(['gemma3n', 'gemma3n_text', 'gemma4', 'gemma4_text'].map((t) => [t, 'per-layer embeddings and altered FFNs (Gemma 3n/4) are not built yet'])),
  gemma3: 'this is the multimodal Gemma 3 checkpoint; FFN Lens reads text-only checkpoints (model_type "gemma3_text")',
};

/**
 * A family with the checks every family gets: config fields it does not implement are
 * refused (fields.ts), and converting must use every tensor of the checkpoint (usage.ts).
 */
function checked(f: ArchFamily): ArchFamily {
  return {
    ...f,
    parseConfig: (raw) => {
      checkFields(raw, f.fields[String(raw.model_type)] ?? []);
      return f.parseConfig({ ...f.defaults?.[String(raw.model_type)], ...raw });
    },
    convert: (cfg, raw, w) => {
      const tracked = trackWeights(w);
      const m = f.convert(cfg, raw, tracked.store);
      checkAllUsed(tracked, w, m.embed);
      return m;
    },
  };
}

export function supportedModelTypes(): string[] {
  return FAMILIES.flatMap((f) => f.modelTypes).sort();
}

export function familyFor(modelType: unknown): ArchFamily {
  const type = String(modelType);
  if (type in NOT_YET) throw new Error(`unsupported architecture: model_type "${type}": ${NOT_YET[type]} (supported: ${supportedModelTypes().join(', ')})`);
  const family = FAMILIES.find((f) => f.modelTypes.includes(type));
  if (!family) {
    throw new Error(`unsupported architecture: model_type "${String(modelType)}" (supported: ${supportedModelTypes().join(', ')})`);
  }
  return checked(family);
}
