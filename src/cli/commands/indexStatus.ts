/** `ffn-lens index-status DIR…`: progress and ETA of index runs and shards, e.g. the tasks of `index --slurm`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { indexStatus, type IndexStatus } from '../../core';
import { parse, UsageError } from '../args';
import { processIo, type Io } from '../io';
import { table } from '../table';
import { duration, grouped } from './index';

export const usage = 'index-status [--json] DIR...   (an index, a shard, or the --out of index --slurm)';

interface Entry {
  dir: string;
  /** The --out folder of `index --slurm`, where its shards are merged. */
  merged: boolean;
}

/** A folder written by `index --slurm` stands for its shards and then its merged index. */
function expand(dir: string): Entry[] {
  const shards = path.join(dir, 'shards');
  if (!fs.existsSync(shards) || !fs.statSync(shards).isDirectory()) return [{ dir, merged: false }];
  const subs = fs
    .readdirSync(shards, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => path.join(shards, e.name))
    .sort();
  return [...subs.map((d) => ({ dir: d, merged: false })), { dir, merged: true }];
}

function row(s: IndexStatus, merged: boolean): string[] {
  const pct = s.fraction === undefined ? '' : `${(100 * s.fraction).toFixed(s.fraction < 1 ? 1 : 0)}%`;
  const note = [merged ? 'the merged index' : '', s.age !== undefined && s.state !== 'done' ? `updated ${duration(s.age)} ago${s.host ? ` on ${s.host}` : ''}` : '', s.state === 'stale' ? 'no report lately: process gone? resume it' : '', s.message && s.state !== 'running' ? s.message.split('\n')[0] : '']
    .filter(Boolean)
    .join('; ');
  return [s.dir, s.shard ? `${s.shard.index}/${s.shard.count}` : '', s.state, pct, grouped(s.tokens), s.tokensPerSecond ? grouped(s.tokensPerSecond) : '', s.etaSeconds === undefined ? '' : duration(s.etaSeconds), note];
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
  if (positionals.length === 0) throw new UsageError('give the index or shard folders');
  const entries = positionals.flatMap(expand);
  const statuses = entries.map((e) => indexStatus(e.dir));
  if (values.json) {
    io.out(JSON.stringify(statuses, null, 2) + '\n');
    return;
  }
  io.out(table(['folder', 'shard', 'state', 'done', 'tokens', 'tok/s', 'ETA', 'note'], statuses.map((s, i) => row(s, entries[i].merged))) + '\n');
  const running = statuses.filter((s) => s.state === 'running');
  if (statuses.length > 1) {
    const rate = running.reduce((a, s) => a + (s.tokensPerSecond ?? 0), 0);
    const eta = Math.max(0, ...running.map((s) => s.etaSeconds ?? 0));
    const done = statuses.filter((s) => s.state === 'done').length;
    io.out(`${done} of ${statuses.length} done, ${running.length} running${running.length ? ` at ${grouped(rate)} tok/s together, the last due in ${duration(eta)}` : ''}\n`);
  }
}
