/**
 * Large vocabularies: value-table time and peak working memory, and inspect's peak
 * memory, on random small-width models with the real Llama 3 (128,256), Qwen3 (151,936)
 * and Gemma 3 (262,144) vocabularies, each measured in its own process. The Llama-3.2-1B
 * table (16 × 8,192 memories, d 2,048) is then EXTRAPOLATED, not measured: its CPU time
 * per memory is fitted as V·(a + b·d) from two widths at V = 128,256 (a: softmax and
 * top-k per token, b: the MatMul per token and model dimension), and wall time on 2 cores
 * taken as CPU time / 2 (onnxruntime keeps both busy in the MatMul).
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

const LLAMA_1B = { memories: 16 * 8192, dModel: 2048, vocab: 128_256, dFf: 8192, budgetS: 600, budgetExtraMb: 2048 };
/** The cached table: top and bottom 50 (id + prob each) and max p per memory. */
const tableBytes = (memories: number) => memories * (50 * 2 * 8 + 4);

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
    const tables = new Map<string, ChildResult>();
    for (const [tokenizer, dModel, dFf] of [['llama3', 64, 1024], ['llama3', 1024, 256], ['qwen3', 64, 1024], ['gemma3', 64, 1024]] as const) {
      const r = child('table', model(tokenizer, dModel, dFf));
      tables.set(`${tokenizer}-${dModel}`, r);
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

    const narrow = tables.get('llama3-64')!;
    const wide = tables.get('llama3-1024')!;
    const perToken = (r: ChildResult) => cpuPerMemoryUs(r) / r.vocabSize;
    const b = (perToken(wide) - perToken(narrow)) / (wide.dModel - narrow.dModel);
    const a = perToken(narrow) - b * narrow.dModel;
    const llamaCpuS = (LLAMA_1B.memories * LLAMA_1B.vocab * (a + b * LLAMA_1B.dModel)) / 1e6;
    // working memory: the per-call [rows, V] buffers do not depend on d (measured at d 1024, less
    // its table), plus the Llama table and one layer's values; E is fed by reference from the model
    const buffersMb = wide.extraMb - tableBytes(wide.memories) / 2 ** 20;
    const workingMb = buffersMb + (tableBytes(LLAMA_1B.memories) + 4 * LLAMA_1B.dFf * LLAMA_1B.dModel) / 2 ** 20;
    const eMb = (4 * LLAMA_1B.dModel * LLAMA_1B.vocab) / 2 ** 20;
    figures.push(
      { name: `Llama-3.2-1B table, EXTRAPOLATED CPU time (V·(a + b·d): a ${(a * 1000).toFixed(2)} ns, b ${(b * 1e6).toFixed(1)} ps)`, value: llamaCpuS, unit: 's' },
      { name: 'Llama-3.2-1B table, EXTRAPOLATED wall on 2 cores (CPU / 2)', value: llamaCpuS / 2, unit: 's', budget: LLAMA_1B.budgetS },
      { name: 'Llama-3.2-1B table working memory, EXTRAPOLATED (buffers + table + one layer)', value: workingMb, unit: 'MB' },
      { name: 'the same with E (fp32, 1 GB) as a copy of its own, as when the model reads it per call', value: workingMb + eMb, unit: 'MB', budget: LLAMA_1B.budgetExtraMb },
    );
    return figures;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (require.main === module) {
  console.log(`large vocabularies — ${os.cpus().length} cores, node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}\n`);
  console.log(report(benchLargeVocab()));
}
