/**
 * npm run bench: the budgets of the issues, measured in one run on this machine, with
 * ratios taken between variants timed in the same process and interleaved.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hookName, inspect, loadModel, LOGITS } from '../src/core';
import { sharedPath } from '../src/core/shared';
import { interleaved, report, type Figure } from './stats';
import { benchText } from './text';
import { benchTriggerIndex } from './triggers';
import { benchValueTable } from './values';
import { benchAttribution } from './attribution';

function child(spec: string, cacheDir: string): { loadMs: number; maxRssMb: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'load-child.ts'), spec, cacheDir], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

async function engine(spec: string): Promise<Figure[]> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-bench-'));
  const cold = child(spec, cacheDir);
  const warm = child(spec, cacheDir);

  const model = await loadModel(spec, { cacheDir });
  const text = benchText(model, 128);
  const ids = model.tokenizer.encode(text);
  const hooks = [LOGITS];
  for (let l = 0; l < model.config.nLayers; l++) hooks.push(hookName(l, 'mlp.coeff'), hookName(l, 'resid_pre'), hookName(l, 'resid_mid'), hookName(l, 'resid_post'));
  const t = await interleaved(
    {
      logits: () => model.run([ids], [LOGITS]),
      coeffs: () => model.run([ids], hooks.filter((h) => h.endsWith('mlp.coeff'))),
      hooked: () => model.run([ids], hooks),
      inspect: () => inspect(model, text),
    },
    30,
  );
  await model.dispose();
  fs.rmSync(cacheDir, { recursive: true, force: true });
  return [
    { name: 'forward 128 tokens, mlp.coeff only (no vocabulary projection)', value: t.coeffs, unit: 'ms' },
    { name: 'forward 128 tokens, logits only', value: t.logits, unit: 'ms' },
    { name: 'forward 128 tokens, all mlp.coeff + residual hooks', value: t.hooked, unit: 'ms' },
    { name: 'hook overhead (hooked / logits only)', value: t.hooked / t.logits, unit: 'x', budget: 1.15 },
    { name: 'inspect 128 tokens (after load)', value: t.inspect, unit: 'ms', budget: 100 },
    { name: 'load cold (parse, build, session)', value: cold.loadMs, unit: 'ms', budget: 3000 },
    { name: 'load from cache', value: warm.loadMs, unit: 'ms', budget: 1000 },
    { name: 'peak RSS, cold load + one inspect', value: cold.maxRssMb, unit: 'MB', budget: 600 },
    { name: 'peak RSS, cached load + one inspect', value: warm.maxRssMb, unit: 'MB', budget: 600 },
  ];
}

async function main(): Promise<void> {
  const spec = sharedPath('models', 'gpt2-books');
  if (!spec) {
    console.error('bench: ../shared/models/gpt2-books not found (set FFN_LENS_SHARED); nothing to measure');
    process.exitCode = 1;
    return;
  }
  console.log(`FFN Lens benchmarks — gpt2-books, ${os.cpus().length} cores, node ${process.version}\n`);
  const all: [string, () => Promise<Figure[]>][] = [
    ['engine', () => engine(spec)],
    ['value table and search', () => benchValueTable(spec)],
    ['trigger index', () => benchTriggerIndex()],
    ['attribution', () => benchAttribution(spec)],
  ];
  // `npm run bench -- attribution` runs the sections whose names contain an argument
  const only = process.argv.slice(2);
  const sections = only.length ? all.filter(([name]) => only.some((o) => name.includes(o))) : all;
  for (const [name, run] of sections) {
    console.log(`\n## ${name}\n${report(await run())}`);
  }
}
main();
