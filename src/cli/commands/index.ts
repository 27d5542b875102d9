/** `ffn-lens index`: build a trigger-example index of a corpus, with progress, Ctrl-C checkpoints and shards. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, statusFile, TriggerIndexAborted, writeRunStatus, type IndexProgress, type ScannedCorpus } from '../../core';
import { defaultModelSpec } from '../../core/shared';
import { intOption, parse, textFieldArg, textFieldOption, UsageError } from '../args';

/** Longer than any context FFN Lens can run; the model's own context is checked after loading. */
const MAX_WINDOW = 1 << 20;
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';
import { shellQuote, splitShellWords } from '../shell';
import { submitSlurm } from '../slurm';

export const usage =
  'index --model M --corpus FILE|DIR... --out DIR [--text-field F] [--top N] [--window W] [--shard i/n] [--resume] [--checkpoint-seconds S] [--slurm N [--sbatch-args "…"]]';

function parseShard(raw: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  if (!m) throw new UsageError(`--shard must look like i/n (e.g. 0/4), got "${raw}"`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new UsageError(`--shard ${raw}: need 0 ≤ i < n`);
  return shard;
}

export const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

export function duration(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function progressLine(p: IndexProgress): string {
  const total = p.totalTokens ? ` / ~${grouped(p.totalTokens)} (${Math.min(100, (100 * p.tokens) / p.totalTokens).toFixed(0)}%)` : '';
  const eta = p.etaSeconds === undefined ? '' : `, ETA ${duration(p.etaSeconds)}`;
  return `indexed ${grouped(p.tokens)}${total} tokens, ${grouped(p.paragraphs)} paragraphs, ${grouped(p.tokensPerSecond)} tok/s${eta}`;
}

/** A terminal gets one redrawn line; a log gets a line every 30 s. */
function progressPrinter(io: Io, quiet: boolean): (p: IndexProgress) => void {
  let lastLogged = -Infinity;
  return (p) => {
    if (quiet) return;
    if (io.isTTY) io.err(`\r\x1b[K${progressLine(p)}`);
    else if (performance.now() - lastLogged >= 30_000) {
      io.err(progressLine(p) + '\n');
      lastLogged = performance.now();
    }
  };
}

/** What the corpus scan found, when it is worth saying: several files or formats, skipped records, ignored files. */
function corpusReport(c: ScannedCorpus): string {
  const formats = new Map<string, number>();
  for (const f of c.files) formats.set(f.format, (formats.get(f.format) ?? 0) + 1);
  const lines = [`corpus: ${grouped(c.files.length)} file${c.files.length === 1 ? '' : 's'} (${[...formats].map(([f, n]) => `${n} ${f}`).join(', ')}), ${grouped(c.paragraphs)} paragraphs`];
  if (c.skipped) {
    lines.push(`skipped ${grouped(c.skipped)} malformed record${c.skipped === 1 ? '' : 's'}:`);
    for (const s of c.skippedExamples.slice(0, 10)) lines.push(`  ${s.file} ${s.where}: ${s.reason}`);
    if (c.skipped > 10) lines.push(`  … and ${grouped(c.skipped - 10)} more`);
  }
  if (c.ignored.length) lines.push(`left out ${grouped(c.ignored.length)} file${c.ignored.length === 1 ? '' : 's'} of corpus folders that are not corpus files (${c.ignored.slice(0, 3).join(', ')}${c.ignored.length > 3 ? ', …' : ''})`);
  return lines.join('\n') + '\n';
}

/** The options every Slurm task shares, with paths made absolute: tasks may start elsewhere. */
function taskArgs(values: Record<string, unknown>, corpus: string[]): string[] {
  const abs = (p: string) => (fs.existsSync(p) ? path.resolve(p) : p);
  const args = ['--model', abs((values.model as string | undefined) ?? defaultModelSpec()), '--corpus', ...corpus.map((c) => path.resolve(c))];
  for (const name of ['top', 'window', 'text-field', 'threads', 'checkpoint-seconds'] as const) if (values[name] !== undefined) args.push(`--${name}`, String(values[name]));
  if (values.cache !== undefined) args.push('--cache', path.resolve(values.cache as string));
  return args;
}

/** status.json for `ffn-lens index-status`: at most every 10 s while running, and at the end. */
function statusWriter(out: string, shard: { index: number; count: number } | undefined) {
  let last = -Infinity;
  let progress: IndexProgress | undefined;
  const write = (state: 'running' | 'stopped' | 'failed', message?: string) => {
    if (!progress || !fs.existsSync(out)) return;
    try {
      writeRunStatus(out, state, shard ?? null, progress, message);
    } catch {
      // a status display is a convenience; never fail the run over it
    }
  };
  return {
    progress(p: IndexProgress) {
      progress = p;
      if (performance.now() - last < 10_000) return;
      last = performance.now();
      write('running');
    },
    end: write,
  };
}

/** `--sbatch-args "--partition=gpu"`: its value starts with a dash, which parseArgs takes for an option. */
function joinSbatchArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) out.push(argv[i] === '--sbatch-args' && i + 1 < argv.length ? `--sbatch-args=${argv[++i]}` : argv[i]);
  return out;
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values, positionals } = parse(joinSbatchArgs(argv), {
    ...modelOptions,
    corpus: { type: 'string', short: 'c', multiple: true },
    out: { type: 'string', short: 'o' },
    top: { type: 'string', short: 'n' },
    window: { type: 'string', short: 'w' },
    shard: { type: 'string' },
    resume: { type: 'boolean' },
    ...textFieldOption,
    'checkpoint-seconds': { type: 'string' },
    slurm: { type: 'string' },
    'sbatch-args': { type: 'string' },
  });
  // `--corpus a b c` leaves b and c as positionals: they are corpus files too
  const corpus = [...((values.corpus as string[] | undefined) ?? []), ...positionals];
  if (corpus.length === 0) throw new UsageError('--corpus FILE|DIR... is required');
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('--out DIR is required');
  const top = values.top === undefined ? undefined : intOption(values, 'top', 25);
  const window = values.window === undefined ? undefined : intOption(values, 'window', 128, 1, MAX_WINDOW);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard as string);
  const quiet = Boolean(values.quiet);
  const textField = textFieldArg(values);
  const checkpointSeconds = values['checkpoint-seconds'] === undefined ? undefined : intOption(values, 'checkpoint-seconds', 60, 0);
  if (values.slurm !== undefined) {
    const tasks = intOption(values, 'slurm', 1, 2);
    if (shard || values.resume) throw new UsageError('--slurm makes its own shards and resumes them itself; leave out --shard and --resume');
    // caught here rather than by N tasks failing on the cluster
    const missing = corpus.find((c) => !fs.existsSync(c));
    if (missing) throw new UsageError(`--corpus ${missing} does not exist`);
    const sbatchArgs = values['sbatch-args'] === undefined ? [] : splitShellWords(values['sbatch-args'] as string, '--sbatch-args');
    submitSlurm({ out: path.resolve(out), tasks, sbatchArgs, indexArgs: taskArgs(values, corpus) }, io);
    return;
  }
  if (values['sbatch-args'] !== undefined) throw new UsageError('--sbatch-args goes with --slurm N');

  // Ctrl-C, `kill` (SIGTERM) and a closed terminal (SIGHUP) all stop at the next paragraph
  // boundary with a checkpoint; a second signal quits at once (the exit hook of the build
  // then removes a spool no checkpoint refers to, and the folder's lock)
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      io.err(`\nffn-lens index: stopped at once (${signal}); the last periodic checkpoint (if any) remains\n`);
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
    }
    io.err(`\n${signal}: stopping after the current paragraphs and saving a checkpoint… (send it again to quit at once)\n`);
    controller.abort();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  let status: ReturnType<typeof statusWriter> | undefined;
  try {
    const model = await loadFromArgs(values, io, controller.signal);
    try {
      const started = performance.now();
      let last: IndexProgress | undefined;
      const print = progressPrinter(io, quiet);
      status = statusWriter(path.resolve(out), shard);
      await buildTriggerIndex(model, {
        corpus,
        out,
        top,
        window,
        shard,
        textField,
        checkpointSeconds,
        resume: Boolean(values.resume),
        signal: controller.signal,
        onCorpus: (c) => {
          // skipped records and left-out files are warnings: shown even with -q
          if (c.skipped || c.ignored.length || (!quiet && (c.files.length > 1 || c.files[0].format !== 'text'))) io.err(corpusReport(c));
        },
        onProgress: (p) => {
          last = p;
          print(p);
          status!.progress(p);
        },
      });
      // a finished index speaks for itself in index-status
      fs.rmSync(statusFile(path.resolve(out)), { force: true });
      if (io.isTTY && !quiet) io.err('\n');
      const seconds = (performance.now() - started) / 1000;
      if (!last) io.out(`${out} already holds this index, complete; nothing to resume\n`);
      else io.out(`trigger index written to ${out}: ${grouped(last.tokens)} tokens, ${grouped(last.paragraphs)} paragraphs in ${duration(seconds)} (${grouped(last.tokensPerSecond)} tok/s this run)\n`);
      if (last && model.config.gated) io.out(`signed index (a gated FFN): every key keeps its top triggers with m > 0 and as many most negative ones (m < 0, where it promotes its value's bottom tokens)\n`);
    } finally {
      await model.dispose();
    }
  } catch (e) {
    status?.end(e instanceof TriggerIndexAborted ? 'stopped' : 'failed', (e as Error).message);
    if (e instanceof TriggerIndexAborted) {
      const again = argv.includes('--resume') ? argv : [...argv, '--resume'];
      throw new Error(`interrupted; the checkpoint in ${out} keeps the work so far. Continue with:\n  ffn-lens index ${again.map(shellQuote).join(' ')}`);
    }
    if (controller.signal.aborted) throw new Error('interrupted before indexing started; nothing was written');
    throw e;
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
}
