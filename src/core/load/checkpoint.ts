/**
 * Opens a Hugging Face model directory: config.json plus model.safetensors or the
 * shards listed in model.safetensors.index.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsFile, SafetensorsWeightStore } from './safetensors';
import type { WeightStore } from './weights';
import { containedPath } from '../io/paths';
import { checkRegularFile, readRegularFile } from '../io/readFile';

/** config.json is a few kB; anything near this is not one (and is not read whole). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

export interface Checkpoint {
  dir: string;
  config: Record<string, unknown>;
  weights: WeightStore;
  /** The bytes that define the model (config and weights, as read), for its content hash. */
  contents: Uint8Array[];
}

function readJson(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readRegularFile(file, what, { maxBytes: MAX_CONFIG_BYTES }).toString('utf8');
  } catch (e) {
    throw (e as NodeJS.ErrnoException).code === 'ENOENT' || !fs.existsSync(file) ? new Error(`${what} not found: ${file}`) : e;
  }
  try {
    const v = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v;
  } catch (e) {
    throw new Error(`${what} is not valid JSON (${file}): ${(e as Error).message}`);
  }
}

export function weightFiles(dir: string): string[] {
  const index = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(index)) {
    const map = readJson(index, 'safetensors index').weight_map;
    if (typeof map !== 'object' || map === null) throw new Error(`${index}: no "weight_map"`);
    const shards = [...new Set(Object.values(map as Record<string, string>))].sort();
    // shard names come from the file: each must stay inside the model directory
    const files = shards.map((s) => containedPath(dir, s, index));
    files.forEach((f, i) => {
      if (!fs.existsSync(f)) throw new Error(`missing shard ${shards[i]} listed in ${index}`);
      checkRegularFile(f, 'safetensors shard');
    });
    return files;
  }
  const single = path.join(dir, 'model.safetensors');
  if (!fs.existsSync(single)) throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json`);
  checkRegularFile(single, 'safetensors file');
  return [single];
}

export function openCheckpoint(dir: string): Checkpoint {
  const configFile = path.join(dir, 'config.json');
  const config = readJson(configFile, 'config.json');
  const files = weightFiles(dir);
  const shards = files.map((f) => SafetensorsFile.open(f));
  const contents = [new TextEncoder().encode(JSON.stringify(config)), ...shards.map((f) => f.contents)];
  return { dir, config, weights: new SafetensorsWeightStore(shards), contents };
}
