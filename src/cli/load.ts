/** Loading the --model argument with progress on stderr. */
import { InsufficientMemoryError, loadModel, loadProgressText, type LoadProgress, type Model } from '../core';
import { defaultModelSpec } from '../core/shared';
import { intOption } from './args';
import { processIo, type Io } from './io';

/** onnxruntime threads (0: its own choice); the extension's ffnLens.threads has the same range. */
const MAX_THREADS = 256;

export async function loadFromArgs(values: Record<string, unknown>, io: Io = processIo, signal?: AbortSignal): Promise<Model> {
  const spec = (values.model as string | undefined) ?? defaultModelSpec();
  const quiet = Boolean(values.quiet);
  let last = '';
  return loadModel(spec, {
    cacheDir: values.cache as string | undefined,
    threads: values.threads === undefined ? undefined : intOption(values, 'threads', 0, 0, MAX_THREADS),
    memoryCheck: !values['no-memory-check'],
    signal,
    onProgress: (p) => {
      if (quiet) return;
      const line = progressLine(p);
      if (line === last) return;
      // a terminal gets one updating line; a log gets one line per stage
      if (io.isTTY) io.err(`\r\x1b[K${line}${p.stage === 'ready' ? '\n' : ''}`);
      else if (p.bytesTotal ? p.bytesRead === 0 || p.bytesRead === p.bytesTotal : p.fraction === undefined || p.fraction === 1) io.err(line + '\n');
      last = line;
    },
  }).catch((e: unknown) => {
    if (e instanceof InsufficientMemoryError) throw new InsufficientMemoryError(`${e.message} (--no-memory-check loads anyway)`);
    throw e;
  });
}

/** "reading m 512 / 2,470 MB", "downloading f 40%": the stage's message with its amount done. */
function progressLine(p: LoadProgress): string {
  const text = loadProgressText(p);
  return p.fraction === undefined ? text : `${text} ${(100 * p.fraction).toFixed(0)}%`;
}

export const modelOptions = {
  model: { type: 'string', short: 'm' },
  cache: { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  'no-memory-check': { type: 'boolean' },
} as const;
