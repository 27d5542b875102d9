/**
 * The whole value table of one real-shape checkpoint, in a fresh process: wall and CPU
 * time, and the extra peak RSS over the loaded model (Linux's resettable high-water
 * mark, /proc/self/clear_refs, reset right after the load, so the values, E and every
 * buffer the table needs count as extra). Progress goes to stderr. Used by bench:scale;
 * prints one JSON line.
 */
import { computeValueTable, loadModel } from '../src/core';
import { peakFromHere } from './rss';

async function main(): Promise<void> {
  const [dir, cacheDir] = process.argv.slice(2);
  const model = await loadModel(dir, { cacheDir, precision: 'fp32' });
  const { baseMb, extraMb } = peakFromHere();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let shown = 0;
  const table = await computeValueTable(model, {
    onProgress: ({ done, total }) => {
      if (done / total >= shown + 0.1 || done === total) {
        shown = done / total;
        process.stderr.write(`  value table ${(100 * shown).toFixed(0)}% after ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      }
    },
  });
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const memories = table.data.nLayers * table.data.dFf;
  process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, baseMb, extraMb: extraMb(), memories, vocabSize: table.data.vocabSize }) + '\n');
  await model.dispose();
}
main();
