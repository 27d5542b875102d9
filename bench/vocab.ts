/**
 * Large vocabularies: value-table time and peak working memory, and inspect's peak
 * memory, on random small-width models with the real Llama 3 (128,256), Qwen3 (151,936)
 * and Gemma 3 (262,144) vocabularies, each measured in its own process. The real
 * Llama-3.2-1B-shape table is measured by `npm run bench:scale`.
 * Run alone: `node --import tsx bench/vocab.ts` (writes ~0.6 GB of models to a temp folder).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeLargeVocabModel, type LargeVocab } from '../test/fixtures/largeVocab';
import { report, type Figure } from './stats';

interface ChildResult {
  ms: number;
  cpuMs: number;
  baseMb: number;
  extraMb: number;
  memories: number;
  dModel: number;
  vocabSize: number;
}

function child(...args: string[]): ChildResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'vocab-child.ts'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export function benchLargeVocab(): Figure[] {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-bench-vocab-'));
  const model = (tokenizer: LargeVocab, dModel: number, dFf: number) => writeLargeVocabModel({ tokenizer, dModel, nLayers: 2, dFf }, path.join(root, `${tokenizer}-${dModel}`)).dir;
  try {
    const figures: Figure[] = [];
    const cpuPerMemoryUs = (r: ChildResult) => (1000 * r.cpuMs) / r.memories;
    for (const [tokenizer, dModel, dFf] of [['llama3', 64, 1024], ['llama3', 1024, 256], ['qwen3', 64, 1024], ['gemma3', 64, 1024]] as const) {
      const r = child('table', model(tokenizer, dModel, dFf));
      const shape = `V ${r.vocabSize}, d ${dModel}, ${r.memories} memories`;
      figures.push(
        { name: `value table ${shape}: wall (shared machine)`, value: r.ms / 1000, unit: 's' },
        { name: `value table ${shape}: CPU time per memory`, value: cpuPerMemoryUs(r), unit: 'µs' },
        { name: `value table ${shape}: peak RSS over the loaded model (from ${r.baseMb.toFixed(0)} MB)`, value: r.extraMb, unit: 'MB' },
      );
    }
    for (const tokens of [128, 1024]) {
      const r = child('inspect', model('gemma3', 64, 1024), String(tokens));
      figures.push({ name: `inspect ${tokens} tokens at V 262,144: peak RSS over the loaded model`, value: r.extraMb, unit: 'MB' });
    }

    return figures;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  console.log(`large vocabularies — ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}\n`);
  console.log(report(benchLargeVocab()));
}
