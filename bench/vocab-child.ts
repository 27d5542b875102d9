/**
 * One large-vocabulary measurement in a fresh process, so its peak RSS is its own:
 * `table DIR` times the whole value table, `inspect DIR TOKENS` one inspect. The peak
 * is taken with Linux's resettable high-water mark (/proc/self/clear_refs), after the
 * model is loaded and the weights the analysis reads are materialised, so it is the
 * working memory of the analysis alone. CPU time (all threads) is reported beside wall
 * time: on a shared machine it is the steadier measure of the work. Prints a JSON line.
 */
import * as fs from 'node:fs';
import { computeValueTable, inspect, loadModel } from '../src/core';
import { benchText } from './text';

const statusKb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]);

async function main(): Promise<void> {
  const [mode, dir, tokens] = process.argv.slice(2);
  const model = await loadModel(dir, { noCache: true });
  // what the analysis reads anyway (E, the values): held before the baseline
  model.unembed();
  for (let l = 0; l < model.config.nLayers; l++) model.values(l);
  const text = mode === 'inspect' ? benchText(model, Number(tokens)) : '';
  global.gc?.();
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const baseMb = statusKb('VmRSS') / 1024;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  if (mode === 'table') await computeValueTable(model);
  else await inspect(model, text);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peakMb = statusKb('VmHWM') / 1024;
  const { nLayers, dFf, dModel, vocabSize } = model.config;
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, baseMb, extraMb: peakMb - baseMb, memories: nLayers * dFf, dModel, vocabSize }) + '\n');
  await model.dispose();
}
main();
