/**
 * `ffn-lens index --slurm N`: one Slurm array job of N tasks, task i indexing shard i/N into
 * OUT/shards/shard-i-of-N, and a merge job that runs when all of them succeeded (afterok)
 * and writes the whole index into OUT. Both batch scripts are written to OUT/slurm/ first,
 * so they can be read, edited and submitted by hand.
 *
 * A task resumes from its shard's checkpoint when there is one, so running the same command
 * again after a task failed or was cancelled submits only the unfinished shards (plus a new
 * merge job; the old one, whose dependency can never be met, is cancelled). It refuses while
 * tasks of the same index are still queued or running, so two processes never share a shard.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointFile, indexFile, writeFileAtomic } from '../core';
import type { Io } from './io';
import { shellQuote } from './shell';

export interface SlurmPlan {
  /** The merged index's folder (absolute). */
  out: string;
  tasks: number;
  /** Extra sbatch options, written as #SBATCH lines into both scripts. */
  sbatchArgs: string[];
  /** `ffn-lens index` options every task shares (model, corpus, settings), paths absolute. */
  indexArgs: string[];
}

const width = (n: number) => String(n - 1).length;
export const shardDir = (out: string, i: number, n: number) => path.join(out, 'shards', `shard-${String(i).padStart(width(n), '0')}-of-${n}`);
export const shardDirs = (out: string, n: number) => Array.from({ length: n }, (_, i) => shardDir(out, i, n));
export const slurmDir = (out: string) => path.join(out, 'slurm');
export const indexScriptFile = (out: string) => path.join(slurmDir(out), 'index.sbatch');
export const mergeScriptFile = (out: string) => path.join(slurmDir(out), 'merge.sbatch');

/** Job names tied to this output folder, so reruns find their own jobs and no one else's. */
function jobNames(out: string): { index: string; merge: string } {
  const tag = `${path.basename(out).replace(/[^\w.-]/g, '_').slice(0, 40)}-${createHash('sha256').update(out).digest('hex').slice(0, 6)}`;
  return { index: `ffn-index-${tag}`, merge: `ffn-merge-${tag}` };
}

/** This installation's CLI entry, found from the running module (dist/ or src/cli/). */
function cliEntry(): string {
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const bin = path.join(dir, 'bin', 'ffn-lens.js');
    if (fs.existsSync(bin)) return bin;
  }
  throw new Error('cannot find bin/ffn-lens.js of this installation to put into the batch scripts');
}

function header(plan: SlurmPlan, jobName: string, log: string): string[] {
  return [
    '#!/bin/bash',
    `# Written by \`ffn-lens index --slurm ${plan.tasks}\` on ${new Date().toISOString()}; edit freely.`,
    `#SBATCH --job-name=${jobName}`,
    `#SBATCH --output=${path.join(slurmDir(plan.out), 'logs', log)}`,
    ...plan.sbatchArgs.map((a) => `#SBATCH ${a}`),
    'set -euo pipefail',
    `NODE=${shellQuote(process.execPath)}`,
    `FFN_LENS=${shellQuote(cliEntry())}`,
  ];
}

export function indexScript(plan: SlurmPlan): string {
  const n = plan.tasks;
  const names = jobNames(plan.out);
  return [
    ...header(plan, names.index, 'index-%A_%a.out'),
    `#   one task: sbatch --array=I ${shellQuote(indexScriptFile(plan.out))}   (it resumes from its checkpoint)`,
    `N=${n}`,
    'task=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch --array}',
    `dir=${shellQuote(path.join(plan.out, 'shards'))}/shard-$(printf '%0${width(n)}d' "$task")-of-$N`,
    '# continue a cancelled or failed run of this shard (a finished one is a no-op)',
    'resume=()',
    'if [ -e "$dir/checkpoint.bin" ] || [ -e "$dir/triggers.idx" ]; then resume=(--resume); fi',
    'threads=()',
    'if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then threads=(--threads "$SLURM_CPUS_PER_TASK"); fi',
    'echo "ffn-lens: shard $task/$N on $(hostname) into $dir ${resume[*]}"',
    `exec "$NODE" "$FFN_LENS" index ${plan.indexArgs.map(shellQuote).join(' ')} --out "$dir" --shard "$task/$N" "\${resume[@]}" "\${threads[@]}"`,
    '',
  ].join('\n');
}

export function mergeScript(plan: SlurmPlan): string {
  return [
    ...header(plan, jobNames(plan.out).merge, 'merge-%j.out'),
    `exec "$NODE" "$FFN_LENS" merge --out ${shellQuote(plan.out)} ${shardDirs(plan.out, plan.tasks).map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

/** Runs a Slurm command; its stdout, trimmed. */
function slurm(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw Object.assign(new Error(`${cmd} not found: run this on a Slurm login node`), { code: 'ENOENT' });
    throw new Error(`${cmd} ${args.map(shellQuote).join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

const jobIds = (squeueOutput: string) => squeueOutput.split('\n').map((l) => l.trim()).filter(Boolean);
/** `sbatch --parsable` prints `id` or `id;cluster`. */
const parsableId = (s: string) => s.split(';')[0].trim();

/** "0-3" or "1,5,9-11": Slurm's --array syntax for the given task numbers. */
export function arraySpec(tasks: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < tasks.length; ) {
    let j = i;
    while (j + 1 < tasks.length && tasks[j + 1] === tasks[j] + 1) j++;
    parts.push(i === j ? `${tasks[i]}` : `${tasks[i]}-${tasks[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface Submitted {
  /** Shard numbers submitted (the unfinished ones). */
  tasks: number[];
  arrayJob?: string;
  /** Absent when everything was already done. */
  mergeJob?: string;
  /** Stale merge jobs of an earlier submission that were cancelled. */
  cancelled: string[];
}

/** Writes both scripts, then submits the unfinished shards and a merge job depending on them. */
export function submitSlurm(plan: SlurmPlan, io: Io): Submitted {
  const { out, tasks: n } = plan;
  fs.mkdirSync(path.join(slurmDir(out), 'logs'), { recursive: true });
  // every shard folder up front, so index-status lists queued tasks too
  for (const d of shardDirs(out, n)) fs.mkdirSync(d, { recursive: true });
  writeFileAtomic(indexScriptFile(out), [indexScript(plan)]);
  writeFileAtomic(mergeScriptFile(out), [mergeScript(plan)]);
  io.err(`batch scripts written: ${indexScriptFile(out)}, ${mergeScriptFile(out)}\n`);

  const names = jobNames(out);
  let active: string[];
  try {
    active = jobIds(slurm('squeue', ['--noheader', '--format=%i', `--name=${names.index}`]));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`squeue not found: run this on a Slurm login node, or submit the scripts in ${slurmDir(out)} by hand (sbatch --array=0-${n - 1} ${indexScriptFile(out)})`);
    throw e;
  }
  if (active.length) throw new Error(`tasks of this index are still queued or running (${active.join(', ')}); wait for them or scancel them, then run this again to resubmit what is unfinished`);
  const cancelled = jobIds(slurm('squeue', ['--noheader', '--format=%i', '--states=PENDING', `--name=${names.merge}`]));
  if (cancelled.length) slurm('scancel', cancelled);

  const pending = shardDirs(out, n)
    .map((d, i) => ({ d, i }))
    .filter(({ d }) => !fs.existsSync(indexFile(d)))
    .map(({ i }) => i);
  if (pending.length === 0 && fs.existsSync(indexFile(out))) {
    io.out(`all ${n} shards and the merged index ${out} are done; nothing to submit\n`);
    return { tasks: [], cancelled };
  }
  const resuming = pending.filter((i) => fs.existsSync(checkpointFile(shardDir(out, i, n))));
  let arrayJob: string | undefined;
  if (pending.length) arrayJob = parsableId(slurm('sbatch', ['--parsable', `--array=${arraySpec(pending)}`, indexScriptFile(out)]));
  const mergeJob = parsableId(slurm('sbatch', ['--parsable', ...(arrayJob ? [`--dependency=afterok:${arrayJob}`] : []), mergeScriptFile(out)]));

  const lines = [
    ...(cancelled.length ? [`cancelled the pending merge job${cancelled.length > 1 ? 's' : ''} ${cancelled.join(', ')} of an earlier submission`] : []),
    arrayJob
      ? `submitted array job ${arrayJob}: shards ${arraySpec(pending)} of ${n}${pending.length < n ? ` (${n - pending.length} already done)` : ''}${resuming.length ? `; ${arraySpec(resuming)} resume from their checkpoints` : ''}`
      : `all ${n} shards are done`,
    `submitted merge job ${mergeJob}${arrayJob ? ` (runs after ${arrayJob} succeeds)` : ''}: writes ${out}`,
    `progress: ffn-lens index-status ${shellQuote(out)}    logs: ${path.join(slurmDir(out), 'logs')}`,
    'if a task fails or is cancelled, run this same command again: it resubmits only the unfinished shards',
  ];
  io.out(lines.join('\n') + '\n');
  return { tasks: pending, arrayJob, mergeJob, cancelled };
}
