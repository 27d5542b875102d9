/**
 * Trigger-index throughput on gpt2-books, against a plain forward pass over exactly the
 * same windows in the same batches with the same graph.
 *
 * The two are measured paired, batch by batch: the index is built with a model whose
 * `run` also performs (and times) the plain forward of each batch it is given, alternating
 * which goes first. The index's time is the build's wall time minus those plain passes.
 * On a shared machine, load changes by the second; pairing lets every change hit both
 * sides alike, where timing two whole runs one after the other does not.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FINAL_NORM, loadModel, type Model } from '../src/core';
import { buildTriggerIndex } from '../src/core/analysis/triggers';
import { ParagraphSplitter } from '../src/core/analysis/triggers/corpus';
import { sharedPath } from '../src/core/shared';
import type { Figure } from './stats';

/** The model, with every forward pass preceded or followed by a timed plain pass over the same ids. */
function pairedWithPlain(model: Model, clock: { plainMs: number; batches: number }): Model {
  return new Proxy(model, {
    get(target, prop, receiver) {
      if (prop !== 'run') return Reflect.get(target, prop, receiver);
      // every argument passes through: the index's run carries its candidate floors
      return async (...args: Parameters<Model['run']>) => {
        const [ids] = args;
        const plain = async () => {
          const t0 = performance.now();
          await target.run(ids, [FINAL_NORM]);
          clock.plainMs += performance.now() - t0;
        };
        const first = clock.batches++ % 2 === 0;
        if (first) await plain();
        const out = await target.run(...args);
        if (!first) await plain();
        return out;
      };
    },
  });
}

export async function benchTriggerIndex(opts: { paragraphs?: number } = {}): Promise<Figure[]> {
  const spec = sharedPath('models', 'gpt2-books');
  const wiki = sharedPath('corpora', 'wikitext-2-test.raw');
  if (!spec || !wiki) {
    console.error('bench triggers: ../shared (gpt2-books, wikitext-2-test.raw) not found; nothing to measure');
    return [];
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-bench-triggers-'));
  try {
    const model = await loadModel(spec);
    const paragraphs: string[] = [];
    const splitter = new ParagraphSplitter((p) => paragraphs.push(p));
    splitter.push(fs.readFileSync(wiki, 'utf8'));
    splitter.end();
    const corpus = path.join(tmp, 'slice.txt');
    // The whole WikiText-2 test split by default (278k tokens): the heaps' filling phase
    // (the first batches, where every coefficient is a candidate) is a fixed cost that a
    // real corpus amortises; on a 60k-token slice it alone moves the ratio by ~0.08.
    fs.writeFileSync(corpus, paragraphs.slice(0, opts.paragraphs ?? paragraphs.length).join('\n\n') + '\n');
    // warm-up on a small slice: session, allocator, tokenizer caches
    const warm = path.join(tmp, 'warm.txt');
    fs.writeFileSync(warm, paragraphs.slice(0, 30).join('\n\n') + '\n');
    await buildTriggerIndex(model, { corpus: [warm], out: path.join(tmp, 'warm') });

    const clock = { plainMs: 0, batches: 0 };
    let tokens = 0;
    const t0 = performance.now();
    await buildTriggerIndex(pairedWithPlain(model, clock), { corpus: [corpus], out: path.join(tmp, 'index'), onProgress: (p) => (tokens = p.tokens) });
    const indexMs = performance.now() - t0 - clock.plainMs;
    await model.dispose();

    const index = tokens / (indexMs / 1000);
    const plain = tokens / (clock.plainMs / 1000);
    const figures: Figure[] = [
      { name: `trigger index, gpt2-books, ${tokens} WikiText-2 tokens (W 128, top 25, ${clock.batches} batches)`, value: index, unit: 'tok/s' },
      { name: 'plain forward pass, same batches and graph (paired)', value: plain, unit: 'tok/s' },
      { name: 'index / plain forward', value: index / plain, unit: 'x', budget: 0.8, higherIsBetter: true },
    ];
    for (const f of figures) console.log(`${f.name}: ${f.value.toFixed(f.unit === 'x' ? 3 : 0)} ${f.unit}`);
    return figures;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  benchTriggerIndex().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
