/**
 * Value→vocabulary table and search benchmarks on gpt2-books: the time to decode every
 * memory (budget 10 s for 8,192), cache reads, search latency (budget 50 ms), and the
 * extrapolated table time for GPT-2 small. Run alone with `node --import tsx bench/values.ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeValueTable, loadModel, MemorySearch, searchWord, valueTable } from '../src/core';
import { sharedPath } from '../src/core/shared';
import { median, report, type Figure } from './stats';

/** GPT-2 small: 12 layers × 3,072 memories, d_model 768, the same 50,257-token vocabulary. */
const GPT2_SMALL = { memories: 12 * 3072, dModel: 768, vocab: 50257 };

const QUERIES = ['king', 'the', 'Paris', 'water', 'unbelievable', ' of', 'said', '1', 'war', 'she'];

export async function benchValueTable(spec = sharedPath('models', 'gpt2-books')): Promise<Figure[]> {
  if (!spec) {
    console.error('bench values: ../shared/models/gpt2-books not found (set FFN_LENS_SHARED)');
    return [];
  }
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-bench-values-'));
  const model = await loadModel(spec, { cacheDir });
  try {
    const { nLayers, dFf, dModel, vocabSize } = model.config;
    const memories = nLayers * dFf;
    // the first run also creates the projection session; the budget is about the steady state
    const runs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await computeValueTable(model);
      runs.push(performance.now() - t0);
    }
    const tableMs = Math.min(...runs.slice(1));

    await valueTable(model, { cacheDir });
    let t0 = performance.now();
    const table = await valueTable(model, { cacheDir });
    const readMs = performance.now() - t0;
    t0 = performance.now();
    const search = MemorySearch.build(table);
    const buildMs = performance.now() - t0;
    const latencies: number[] = [];
    for (let r = 0; r < 20; r++) {
      for (const q of QUERIES) {
        for (const side of ['promote', 'suppress'] as const) {
          t0 = performance.now();
          searchWord(search, model.tokenizer, q, { side, limit: 20 });
          latencies.push(performance.now() - t0);
        }
      }
    }
    latencies.sort((a, b) => a - b);

    // The projection is dominated by the [rows, d]·[d, V] MatMul, so the cost per row scales
    // with d·V; softmax and top-k scale with V only, which makes this an upper bound.
    const perRowMs = tableMs / memories;
    const scale = (GPT2_SMALL.dModel * GPT2_SMALL.vocab) / (dModel * vocabSize);
    const gpt2SmallS = (perRowMs * scale * GPT2_SMALL.memories) / 1000;

    return [
      { name: `value table, all ${memories} memories (best of 2 warm runs)`, value: tableMs, unit: 'ms', budget: 10_000 },
      { name: 'value table, first run (incl. session creation)', value: runs[0], unit: 'ms' },
      { name: 'value table per memory', value: perRowMs * 1000, unit: 'µs' },
      { name: 'value table read from the disk cache', value: readMs, unit: 'ms' },
      { name: 'search index build (inverted, both sides)', value: buildMs, unit: 'ms' },
      { name: 'search query, median', value: 1000 * median(latencies), unit: 'µs' },
      { name: 'search query, max', value: latencies[latencies.length - 1], unit: 'ms', budget: 50 },
      { name: `GPT-2 small table, extrapolated (${GPT2_SMALL.memories} memories, per-memory cost × ${scale.toFixed(1)} for d·V)`, value: gpt2SmallS, unit: 's' },
    ];
  } finally {
    await model.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchValueTable().then((f) => console.log(report(f)));
}
