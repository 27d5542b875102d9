/**
 * Will a model fit? Before anything is read, the memory a load (plus a first inspect)
 * needs is estimated from the checkpoint's headers and compared with what the machine,
 * or the container's cgroup, has free; a load that cannot fit is refused with a message
 * saying so, instead of the process being killed by the kernel half-way through.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { weightFiles } from './checkpoint';
import type { ModelSource } from './resolve';

export type Precision = 'fp32' | 'int8';

/**
 * Peak RSS of load + one 128-token inspect, per byte of fp32 weights, plus a fixed part
 * (runtime, tokenizer, activations): the budgets issue 7 sets and bench:scale checks
 * (1.3 × + 0.6 GB at fp32, 0.45 × + 0.6 GB at int8).
 */
export const MEMORY_FACTORS: Record<Precision, { perWeightByte: number; overheadBytes: number }> = {
  fp32: { perWeightByte: 1.3, overheadBytes: 0.6 * 2 ** 30 },
  int8: { perWeightByte: 0.45, overheadBytes: 0.6 * 2 ** 30 },
};

export interface MemoryEstimate {
  parameters: number;
  precision: Precision;
  /** The weights as fp32, the unit the factors are in. */
  fp32WeightBytes: number;
  neededBytes: number;
}

export function estimateLoadMemory(parameters: number, precision: Precision): MemoryEstimate {
  const f = MEMORY_FACTORS[precision];
  const fp32WeightBytes = 4 * parameters;
  return { parameters, precision, fp32WeightBytes, neededBytes: fp32WeightBytes * f.perWeightByte + f.overheadBytes };
}

export interface AvailableMemory {
  /** What the OS can give without swapping (MemAvailable on Linux). */
  freeBytes: number;
  totalBytes: number;
  /** The cgroup's limit and usage, when the process runs under one. */
  cgroupLimitBytes?: number;
  cgroupUsageBytes?: number;
}

/** The smaller of the machine's free memory and what the cgroup still allows. */
export function usableBytes(m: AvailableMemory): number {
  const cgroupLeft = m.cgroupLimitBytes === undefined ? Infinity : m.cgroupLimitBytes - (m.cgroupUsageBytes ?? 0);
  return Math.max(0, Math.min(m.freeBytes, cgroupLeft));
}

const gb = (bytes: number) => (bytes / 2 ** 30).toFixed(1);

/** Undefined when the load fits; otherwise the message to refuse it with. */
export function memoryShortfall(name: string, e: MemoryEstimate, m: AvailableMemory): string | undefined {
  const usable = usableBytes(m);
  if (e.neededBytes <= usable) return undefined;
  const where = m.cgroupLimitBytes !== undefined && m.cgroupLimitBytes - (m.cgroupUsageBytes ?? 0) < m.freeBytes ? ` (container limit ${gb(m.cgroupLimitBytes)} GB)` : '';
  const int8 = estimateLoadMemory(e.parameters, 'int8').neededBytes;
  const advice =
    e.precision === 'fp32'
      ? `try int8 (--precision int8, setting ffnLens.precision; about ${gb(int8)} GB)${int8 > usable ? ', and free some memory' : ''}`
      : 'free some memory or pick a smaller model';
  return `${name} needs about ${gb(e.neededBytes)} GB of memory at ${e.precision} (${(e.parameters / 1e9).toFixed(2)} B parameters), ${gb(usable)} GB free${where}; ${advice}`;
}

export class InsufficientMemoryError extends Error {}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** This process's memory headroom: os.freemem() and, under cgroup v2 or v1, the cgroup's limit and usage. */
export function availableMemory(): AvailableMemory {
  const m: AvailableMemory = { freeBytes: os.freemem(), totalBytes: os.totalmem() };
  const v2 = readNumber('/sys/fs/cgroup/memory.max'); // "max" (no limit) reads as NaN → undefined
  const limit = v2 ?? readNumber('/sys/fs/cgroup/memory/memory.limit_in_bytes');
  // cgroup v1 spells "no limit" as a huge number
  if (limit !== undefined && limit < m.totalBytes) {
    m.cgroupLimitBytes = limit;
    m.cgroupUsageBytes = readNumber(v2 !== undefined ? '/sys/fs/cgroup/memory.current' : '/sys/fs/cgroup/memory/memory.usage_in_bytes');
  }
  return m;
}

/**
 * Elements in one safetensors file, from its header alone (8 + header bytes read), or
 * undefined when the header does not parse or does not fit the file: the loader then
 * reports what is wrong with it in its own words.
 */
function safetensorsElements(file: string): number | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const lead = Buffer.alloc(8);
    if (fs.readSync(fd, lead, 0, 8, 0) !== 8) return undefined;
    const len = Number(lead.readBigUInt64LE(0));
    if (len > 100 * 2 ** 20 || 8 + len > size) return undefined;
    const header = Buffer.alloc(len);
    fs.readSync(fd, header, 0, len, 8);
    let n = 0;
    for (const [name, e] of Object.entries(JSON.parse(header.toString('utf8')) as Record<string, { shape?: number[]; data_offsets?: number[] }>)) {
      if (name === '__metadata__') continue;
      if (!Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || 8 + len + Number(e.data_offsets[1]) > size) return undefined;
      n += e.shape.reduce((a, b) => a * b, 1);
    }
    return n;
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/** The weight files of a resolved checkpoint. */
export function checkpointFiles(src: ModelSource): string[] {
  return src.kind === 'llama2c' ? [src.file] : weightFiles(src.dir);
}

/**
 * Parameters of a resolved checkpoint, read from headers only (a llama2.c file is fp32
 * throughout); undefined when a header cannot be read (the loader will say why).
 */
export function checkpointParameters(src: ModelSource): number | undefined {
  if (src.kind === 'llama2c') return fs.statSync(src.file).size / 4;
  let total = 0;
  for (const f of checkpointFiles(src)) {
    const n = safetensorsElements(f);
    if (n === undefined) return undefined;
    total += n;
  }
  return total;
}

/** Throws InsufficientMemoryError when loading `src` at `precision` would not fit now. */
export function assertMemoryFits(src: ModelSource, precision: Precision, memory: AvailableMemory = availableMemory()): void {
  const parameters = checkpointParameters(src);
  if (parameters === undefined) return;
  const why = memoryShortfall(src.name, estimateLoadMemory(parameters, precision), memory);
  if (why) throw new InsufficientMemoryError(why);
}
