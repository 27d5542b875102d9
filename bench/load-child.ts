/**
 * One model load in a fresh process (so "cold" really is cold and peak RSS is this
 * load's alone), then one inspect of 128 tokens. Prints a JSON line.
 */
import { inspect, loadModel } from '../src/core';
import { benchText } from './text';

async function main(): Promise<void> {
  const [spec, cacheDir] = process.argv.slice(2);
  const t0 = performance.now();
  const model = await loadModel(spec, { cacheDir });
  const loadMs = performance.now() - t0;
  await inspect(model, benchText(model, 128));
  process.stdout.write(JSON.stringify({ loadMs, maxRssMb: process.resourceUsage().maxRSS / 1024 }) + '\n');
  await model.dispose();
}
main();
