/**
 * One large-vocabulary measurement in a fresh process, so its peak RSS is its own:
 * `table DIR` times the whole value table, `inspect DIR TOKENS` one inspect. The peak
 * is taken with Linux's resettable high-water mark (bench/rss.ts) from right after the
 * load, so it is the analysis' working memory, including the Eᵀ and values it reads from
 * the graph's weights. CPU time (all threads) is reported beside wall
 * time: on a shared machine it is the steadier measure of the work. Prints a JSON line.
 */
import { computeValueTable, inspect, loadModel } from '../src/core';
import { benchText } from './text';
import { peakFromHere } from './rss';

async function main(): Promise<void> {
  const [mode, dir, tokens] = process.argv.slice(2);
  const model = await loadModel(dir, { noCache: true });
  const text = mode === 'inspect' ? benchText(model, Number(tokens)) : '';
  global.gc?.();
  const { baseMb, extraMb } = peakFromHere();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (mode === 'table') await computeValueTable(model);
  else await inspect(model, text);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const { nLayers, dFf, dModel, vocabSize } = model.config;
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, baseMb, extraMb: extraMb(), memories: nLayers * dFf, dModel, vocabSize }) + '\n');
  await model.dispose();
}
main();
