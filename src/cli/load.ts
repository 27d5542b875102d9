/** Loading the --model argument with progress on stderr. */
import { loadModel, type Model } from '../core';
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
    signal,
    onProgress: (p) => {
      if (quiet) return;
      const line = p.fraction === undefined ? p.message : `${p.message} ${(100 * p.fraction).toFixed(0)}%`;
      if (line === last) return;
      // a terminal gets one updating line; a log gets one line per stage
      if (io.isTTY) io.err(`\r\x1b[K${line}${p.stage === 'ready' ? '\n' : ''}`);
      else if (p.fraction === undefined || p.fraction === 1) io.err(line + '\n');
      last = line;
    },
  });
}

export const modelOptions = {
  model: { type: 'string', short: 'm' },
  cache: { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;
