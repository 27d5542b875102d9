/** `ffn-lens index`: build a trigger-example index of a corpus, with progress, Ctrl-C checkpoints and shards. */
import { buildTriggerIndex, TriggerIndexAborted, type IndexProgress } from '../../core/analysis/triggers';
import { intOption, parse, UsageError } from '../args';

/** Longer than any context FFN Lens can run; the model's own context is checked after loading. */
const MAX_WINDOW = 1 << 20;
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';

export const usage = 'index --model M --corpus FILE... --out DIR [--top N] [--window W] [--shard i/n] [--resume]';

function parseShard(raw: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(raw.trim());
  if (!m) throw new UsageError(`--shard must look like i/n (e.g. 0/4), got "${raw}"`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new UsageError(`--shard ${raw}: need 0 ≤ i < n`);
  return shard;
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');

function duration(s: number): string {
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

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values, positionals } = parse(argv, {
    ...modelOptions,
    corpus: { type: 'string', short: 'c', multiple: true },
    out: { type: 'string', short: 'o' },
    top: { type: 'string', short: 'n' },
    window: { type: 'string', short: 'w' },
    shard: { type: 'string' },
    resume: { type: 'boolean' },
  });
  // `--corpus a b c` leaves b and c as positionals: they are corpus files too
  const corpus = [...((values.corpus as string[] | undefined) ?? []), ...positionals];
  if (corpus.length === 0) throw new UsageError('--corpus FILE... is required');
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('--out DIR is required');
  const top = values.top === undefined ? undefined : intOption(values, 'top', 25);
  const window = values.window === undefined ? undefined : intOption(values, 'window', 128, 1, MAX_WINDOW);
  const shard = values.shard === undefined ? undefined : parseShard(values.shard as string);
  const quiet = Boolean(values.quiet);

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
  try {
    const model = await loadFromArgs(values, io, controller.signal);
    try {
      const started = performance.now();
      let last: IndexProgress | undefined;
      const print = progressPrinter(io, quiet);
      await buildTriggerIndex(model, {
        corpus,
        out,
        top,
        window,
        shard,
        resume: Boolean(values.resume),
        signal: controller.signal,
        onProgress: (p) => {
          last = p;
          print(p);
        },
      });
      if (io.isTTY && !quiet) io.err('\n');
      const seconds = (performance.now() - started) / 1000;
      if (!last) io.out(`${out} already holds this index, complete; nothing to resume\n`);
      else io.out(`trigger index written to ${out}: ${grouped(last.tokens)} tokens, ${grouped(last.paragraphs)} paragraphs in ${duration(seconds)} (${grouped(last.tokensPerSecond)} tok/s this run)\n`);
    } finally {
      await model.dispose();
    }
  } catch (e) {
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
