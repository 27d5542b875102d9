/**
 * Large vocabularies: value-table time and peak working memory, and inspect's peak
 * memory, on random small-width models with the real Llama 3 (128,256), Qwen3 (151,936)
 * and Gemma 3 (262,144) vocabularies, each measured in its own process. The Llama-3.2-1B
 * table (16 × 8,192 memories, d 2,048) is then EXTRAPOLATED, not measured: the per-memory
 * cost is fitted as V·(a + b·d) from two widths at V = 128,256 (a: softmax and top-k per
 * token, b: the MatMul per token and model dimension) and scaled to d 2,048.
 * Run alone: `node --import tsx bench/vocab.ts` (writes ~0.5 GB of models to a temp folder).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeLargeVocabModel, type LargeVocab } from '../test/fixtures/largeVocab';
import { report, type Figure } from './stats';

interface ChildResult {
  ms: number;
  baseMb: number;
  extraMb: number;
  memories: number;
  dModel: number;
  vocabSize: number;
}

const LLAMA_1B = { memories: 16 * 8192, dModel: 2048, vocab: 128_256, budgetS: 600, budgetExtraMb: 2048 };

function child(...args: string[]): ChildResult {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'vocab-child.ts'), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export function benchLargeVocab(): Figure[] {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-bench-vocab-'));
  const model = (tokenizer: LargeVocab, dModel: number, dFf: number) => writeLargeVocabModel({ tokenizer, dModel, nLayers: 2, dFf }, path.join(root, `${tokenizer}-${dModel}`)).dir;
  try {
    const figures: Figure[] = [];
    const perMemoryUs = (r: ChildResult) => (1000 * r.ms) / r.memories;
    const tables = new Map<string, ChildResult>();
    for (const [tokenizer, dModel, dFf] of [['llama3', 64, 1024], ['llama3', 512, 512], ['qwen3', 64, 1024], ['gemma3', 64, 1024]] as const) {
      const r = child('table', model(tokenizer, dModel, dFf));
      tables.set(`${tokenizer}-${dModel}`, r);
      figures.push(
        { name: `value table V ${r.vocabSize}, d ${dModel}: ${r.memories} memories`, value: r.ms / 1000, unit: 's' },
        { name: `value table V ${r.vocabSize}, d ${dModel}: per memory`, value: perMemoryUs(r), unit: 'µs' },
        { name: `value table V ${r.vocabSize}, d ${dModel}: peak working memory over the loaded model`, value: r.extraMb, unit: 'MB' },
      );
    }
    for (const tokens of [128, 512]) {
      const r = child('inspect', model('gemma3', 64, 1024), String(tokens));
      figures.push({ name: `inspect ${tokens} tokens at V 262,144: peak working memory`, value: r.extraMb, unit: 'MB' });
    }

    // per-memory cost = V·(a + b·d): two widths at the same vocabulary give a and b
    const narrow = tables.get('llama3-64')!;
    const wide = tables.get('llama3-512')!;
    const perToken = (r: ChildResult) => perMemoryUs(r) / r.vocabSize;
    const b = (perToken(wide) - perToken(narrow)) / (wide.dModel - narrow.dModel);
    const a = perToken(narrow) - b * narrow.dModel;
    const llamaS = (LLAMA_1B.memories * LLAMA_1B.vocab * (a + b * LLAMA_1B.dModel)) / 1e6;
    const upperS = (LLAMA_1B.memories * perMemoryUs(wide) * (LLAMA_1B.dModel / wide.dModel)) / 1e6;
    // working memory: the [rows, V] buffers (measured, independent of d) + E fed by reference
    // (already held by the model) + the table itself (k = 50 on both sides) + one layer's values
    const tableMb = (LLAMA_1B.memories * (50 * 16 + 4)) / 2 ** 20;
    const buffersMb = wide.extraMb - (wide.memories * (50 * 16 + 4)) / 2 ** 20;
    const eMb = (LLAMA_1B.dModel * LLAMA_1B.vocab * 4) / 2 ** 20;
    figures.push(
      { name: `Llama-3.2-1B table, EXTRAPOLATED: V·(a + b·d) fit, a ${(a * 1000).toFixed(3)} ns, b ${(b * 1e6).toFixed(3)} ps`, value: llamaS, unit: 's', budget: LLAMA_1B.budgetS },
      { name: 'Llama-3.2-1B table, EXTRAPOLATED upper bound: d 512 per-memory cost × 4 (all of it scaled with d)', value: upperS, unit: 's' },
      { name: 'Llama-3.2-1B table working memory, EXTRAPOLATED: buffers + table (E is the model\'s own)', value: buffersMb + tableMb, unit: 'MB', budget: LLAMA_1B.budgetExtraMb },
      { name: 'Llama-3.2-1B, the same plus E taken as a separate fp32 copy', value: buffersMb + tableMb + eMb, unit: 'MB', budget: LLAMA_1B.budgetExtraMb },
    );
    return figures;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  console.log(`large vocabularies — ${os.cpus().length} cores, node ${process.version}\n`);
  console.log(report(benchLargeVocab()));
}
