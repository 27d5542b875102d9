/** Shared by the commands that read a trigger index: --index, --layer, --key, and the model it needs. */
import * as fs from 'node:fs';
import type { Model } from '../core';
import { openTriggerIndex, type TriggerIndex } from '../core/analysis/triggers';
import { intOption, UsageError } from './args';
import { processIo, type Io } from './io';
import { loadFromArgs } from './load';

export function requiredInt(values: Record<string, unknown>, name: string): number {
  if (values[name] === undefined) throw new UsageError(`--${name} is required`);
  // the index checks the upper end against the model's layers and keys
  return intOption(values, name, 0, 0, 2 ** 31 - 1);
}

/**
 * Opens --index and the model to read it with: --model when given, else the model the
 * index was built from (when that path still exists), else the default model. Either
 * way the index checks the model's hash, so a mismatch is a clear error.
 */
export async function openIndexWithModel(values: Record<string, unknown>, io: Io = processIo): Promise<{ index: TriggerIndex; model: Model }> {
  const dir = values.index as string | undefined;
  if (!dir) throw new UsageError('--index DIR is required');
  const header = openTriggerIndex(dir).info;
  const model = await loadFromArgs(values.model === undefined && fs.existsSync(header.model.source) ? { ...values, model: header.model.source } : values, io);
  try {
    return { index: openTriggerIndex(dir, model), model };
  } catch (e) {
    await model.dispose();
    throw e;
  }
}

export const indexOptions = {
  index: { type: 'string', short: 'i' },
  layer: { type: 'string', short: 'l' },
  key: { type: 'string', short: 'k' },
  json: { type: 'boolean' },
} as const;
