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

/** Model JSON files nest a few levels; a hostile one nested deeper would overflow the stack wherever it is walked. */
const MAX_JSON_DEPTH = 32;

/** How deep a parsed JSON value nests, walked without recursion; stops counting past the limit. */
function nestingDepth(root: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return deepest;
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
    if (nestingDepth(v) > MAX_JSON_DEPTH) throw new Error(`nested deeper than ${MAX_JSON_DEPTH} levels`);
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
    const names = Object.values(map as Record<string, unknown>);
    if (!names.every((n): n is string => typeof n === 'string')) throw new Error(`${index}: every "weight_map" entry must name a shard file`);
    const shards = [...new Set(names)].sort();
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
