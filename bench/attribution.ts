/**
 * Attribution latency on gpt2-books: scoring one position of a 128-token text over all
 * 8,192 memories once the position has been traced (the budget: a new target or contrast
 * in the panel), the trace itself (one forward pass with the residual's parts), and the
 * ablation check of one memory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { attribute, checkByAblation, loadModel, tracePosition } from '../src/core';
import { interleaved, type Figure } from './stats';
import { benchText } from './text';

export async function benchAttribution(spec: string): Promise<Figure[]> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-bench-attr-'));
  const model = await loadModel(spec, { cacheDir });
  try {
    const ids = model.tokenizer.encode(benchText(model, 128));
    const position = ids.length - 1;
    const trace = await tracePosition(model, ids, position);
    const first = attribute(model, trace);
    // targets change between calls, as when a person types one token after another
    let target = 0;
    // timed apart from the forward passes: onnxruntime's threads keep spinning for a while
    // after a run and would take the cores from the scoring loop (in the panel a new target
    // follows typing, not a forward pass)
    const scoring = await interleaved(
      {
        attribute: async () => attribute(model, trace, { target: (target = (target + 7919) % model.config.vocabSize), top: 20 }),
        contrast: async () => attribute(model, trace, { target: first.target.id, contrast: (target + 1) % model.config.vocabSize, top: 20 }),
      },
      30,
    );
    const passes = await interleaved({ trace: () => tracePosition(model, ids, position), ablation: () => checkByAblation(model, trace, first, first.memories.slice(0, 1)) }, 10);
    const t = { ...scoring, ...passes };
    return [
      { name: 'attribution of one position over all 8,192 memories (traced; new target)', value: t.attribute, unit: 'ms', budget: 50 },
      { name: 'attribution with a contrast token (traced)', value: t.contrast, unit: 'ms', budget: 50 },
      { name: 'trace of one position, 128 tokens (forward pass with the residual parts)', value: t.trace, unit: 'ms' },
      { name: 'ablation check of one memory (one forward pass)', value: t.ablation, unit: 'ms' },
    ];
  } finally {
    await model.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}
