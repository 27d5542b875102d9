/**
 * One measured load in a fresh process, so "cold" is cold and peak RSS is this load's
 * alone: load, one inspect of 128 tokens, then (optionally) an index over a corpus
 * slice. Prints one JSON line. Used by bench:scale.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTriggerIndex, inspect, loadModel } from '../src/core';
import type { Precision } from '../src/core/graph/quantize';
import { benchText } from './text';

const maxRssMb = (): number => process.resourceUsage().maxRSS / 1024;

async function main(): Promise<void> {
  const [dir, cacheDir, precision, corpus] = process.argv.slice(2);
  const t0 = performance.now();
  const stages: Record<string, number> = {};
  const onProgress = (p: { stage: string }) => (stages[p.stage] = Math.round(process.memoryUsage().rss / 2 ** 20));
  const model = await loadModel(dir, { cacheDir, precision: precision as Precision, onProgress });
  const loadMs = performance.now() - t0;
  const loadRssMb = maxRssMb();
  const text = benchText(model, 128);
  await inspect(model, text); // first run: onnxruntime allocates its buffers
  const t1 = performance.now();
  await inspect(model, text);
  const inspectMs = performance.now() - t1;
  const inspectRssMb = maxRssMb();
  let indexTokPerS: number | undefined;
  if (corpus) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-scale-index-'));
    try {
      let tokens = 0;
      const t2 = performance.now();
      await buildTriggerIndex(model, { corpus: [corpus], out, window: 128, top: 25, onProgress: (p) => (tokens = p.tokens) });
      indexTokPerS = tokens / ((performance.now() - t2) / 1000);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }
  process.stdout.write(JSON.stringify({ rssMbAtStage: stages, loadMs, loadRssMb, inspectMs, inspectRssMb, indexTokPerS, indexRssMb: maxRssMb() }) + '\n');
  await model.dispose();
}
main();
