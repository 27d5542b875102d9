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
import type { ArchFamily } from './types';

const FAMILIES: ArchFamily[] = [gpt2, gptNeox, opt, llama, gemma, phi, phi3, olmo2, granite, starcoder2, gptBigcode, gptNeo, gptj];

export function supportedModelTypes(): string[] {
  return FAMILIES.flatMap((f) => f.modelTypes).sort();
}

export function familyFor(modelType: unknown): ArchFamily {
  const family = FAMILIES.find((f) => f.modelTypes.includes(String(modelType)));
  if (!family) {
    throw new Error(`unsupported architecture: model_type "${String(modelType)}" (supported: ${supportedModelTypes().join(', ')})`);
  }
  return family;
}
