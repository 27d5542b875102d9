/** Loading the --model argument with progress on stderr. */
import { loadModel, PRECISIONS, type Model, type Precision } from '../core';
import { defaultModelSpec } from '../core/shared';
import { UsageError } from './args';
import { processIo, type Io } from './io';

export async function loadFromArgs(values: Record<string, unknown>, io: Io = processIo, signal?: AbortSignal): Promise<Model> {
  const spec = (values.model as string | undefined) ?? defaultModelSpec();
  const quiet = Boolean(values.quiet);
  let last = '';
  return loadModel(spec, {
    cacheDir: values.cache as string | undefined,
    threads: values.threads === undefined ? undefined : Number(values.threads),
    precision: precisionArg(values.precision),
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

/** --precision fp32|int8 (default fp32); anything else is a usage error naming the choices. */
function precisionArg(v: unknown): Precision | undefined {
  if (v === undefined) return undefined;
  if (!PRECISIONS.includes(v as Precision)) throw new UsageError(`--precision must be ${PRECISIONS.join(' or ')}, got "${String(v)}"`);
  return v as Precision;
}

export const modelOptions = {
  precision: { type: 'string' },
  model: { type: 'string', short: 'm' },
  cache: { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
} as const;
