/** model_type → architecture family; the one place that knows every family. */
import { gemma } from './gemma';
import { gpt2 } from './gpt2';
import { gptNeox } from './gpt_neox';
import { llama } from './llama';
import { opt } from './opt';
import { phi } from './phi';
import type { ArchFamily } from './types';

const FAMILIES: ArchFamily[] = [gpt2, gptNeox, opt, llama, gemma, phi];

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
