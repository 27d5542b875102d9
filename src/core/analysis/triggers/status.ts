/**
 * Where an indexing run stands, for `ffn-lens index-status` on a cluster: many shards, each
 * in its own folder, running on nodes the user is not logged into. A running `ffn-lens
 * index` writes status.json in its output folder (throughput, ETA, host, pid) every few
 * seconds; the finished index and the checkpoint say how far a run got even when that
 * file is missing (an index built by the extension) or stale (a killed process).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../io/atomic';
import { checkpointFile, indexFile, readCheckpointInfo, readIndexInfo, type Shard } from './format';
import type { IndexProgress } from './progress';

export const statusFile = (dir: string) => path.join(dir, 'status.json');

/** A run that has not reported for this long is presumed gone. */
export const STALE_SECONDS = 180;

export type RunState = 'running' | 'stopped' | 'failed' | 'done';

/** What a run says about itself in status.json. */
export interface RunStatus extends IndexProgress {
  state: RunState;
  shard: Shard | null;
  /** ISO time of this report. */
  updated: string;
  host: string;
  pid: number;
  /** Why it stopped or failed. */
  message?: string;
}

export function writeRunStatus(dir: string, state: RunState, shard: Shard | null, progress: IndexProgress, message?: string): void {
  const s: RunStatus = { state, shard, ...progress, updated: new Date().toISOString(), host: os.hostname(), pid: process.pid, ...(message ? { message } : {}) };
  writeFileAtomic(statusFile(dir), [JSON.stringify(s, null, 2) + '\n']);
}

export interface IndexStatus {
  dir: string;
  /** 'stale': said it was running but has not reported for STALE_SECONDS, or its process is gone. */
  state: RunState | 'stale' | 'not started';
  shard: Shard | null;
  tokens: number;
  /** Share of its corpus (or shard) done, 0..1, when known. */
  fraction?: number;
  tokensPerSecond?: number;
  etaSeconds?: number;
  /** Seconds since the run last reported. */
  age?: number;
  host?: string;
  message?: string;
}

function readRunStatus(dir: string): RunStatus | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(statusFile(dir), 'utf8')) as RunStatus;
    return typeof s?.state === 'string' && typeof s.tokens === 'number' && typeof s.updated === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process on this host is gone (false when it is elsewhere: that cannot be known). */
function processGone(s: RunStatus): boolean {
  if (s.host !== os.hostname()) return false;
  try {
    process.kill(s.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The state of the index (or shard) in `dir`. */
export function indexStatus(dir: string, now = Date.now()): IndexStatus {
  const abs = path.resolve(dir);
  const run = readRunStatus(abs);
  if (fs.existsSync(indexFile(abs))) {
    const info = readIndexInfo(abs);
    return { dir, state: 'done', shard: info.settings.shard, tokens: info.totals.tokens, fraction: 1 };
  }
  const ck = fs.existsSync(checkpointFile(abs)) ? readCheckpointInfo(abs) : undefined;
  if (!run && !ck) return { dir, state: 'not started', shard: null, tokens: 0 };
  const age = run ? Math.max(0, (now - Date.parse(run.updated)) / 1000) : undefined;
  // the checkpoint may be newer than status.json (written by a run that did not report)
  if (!run || (ck && ck.info.totals.tokens > run.tokens)) {
    const c = ck!;
    return { dir, state: 'stopped', shard: c.info.settings.shard, tokens: c.info.totals.tokens, fraction: c.nextParagraph / c.info.corpusParagraphs };
  }
  let state: IndexStatus['state'] = run.state;
  if (state === 'running' && (age! > STALE_SECONDS || processGone(run))) state = 'stale';
  const running = state === 'running';
  return {
    dir,
    state,
    shard: run.shard,
    tokens: run.tokens,
    fraction: run.totalTokens ? Math.min(1, run.tokens / run.totalTokens) : undefined,
    tokensPerSecond: running ? run.tokensPerSecond : undefined,
    etaSeconds: running && run.etaSeconds !== undefined ? Math.max(0, run.etaSeconds - age!) : undefined,
    age,
    host: run.host,
    message: run.message,
  };
}
