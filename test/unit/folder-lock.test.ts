/**
 * One writer per index folder: a second run gets "in use by pid N" and the first one's
 * work survives; a lock left by a dead process (or by a pid now reused) is taken over.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTriggerIndex, discardTriggerIndexRun, loadModel, mergeTriggerIndexes, openTriggerIndex } from '../../src/core';
import { LOCK_NAME, lockFolder } from '../../src/core/io/lock';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { tempDir } from '../support';

const planted = plantedForTriggers();
const modelP = loadModel(planted.dir, { noCache: true });
after(async () => (await modelP).dispose());

test('index: a second run on the same --out is refused with the first run\'s pid; the first finishes intact', async () => {
  const model = await modelP;
  const dir = tempDir();
  const corpus = writeCorpus(dir, 'c.txt', randomParagraphs(80, 11));
  const out = path.join(dir, 'out');
  let second: Promise<unknown> | undefined; // settles to the error it failed with
  const first = buildTriggerIndex(model, {
    corpus: [corpus],
    out,
    poolTokens: 20,
    checkpointSeconds: 0,
    onProgress: () => (second ??= buildTriggerIndex(model, { corpus: [corpus], out, poolTokens: 20 }).then(() => 'finished', (e: Error) => e.message)),
  });
  await first;
  assert.match(String(await second), new RegExp(`out is in use by pid ${process.pid} \\(building a trigger index, since `));
  assert.deepEqual(fs.readdirSync(out), ['triggers.idx'], 'the lock is gone with the run');
  const reference = path.join(dir, 'reference');
  await buildTriggerIndex(model, { corpus: [corpus], out: reference, poolTokens: 20 });
  assert.ok(fs.readFileSync(path.join(out, 'triggers.idx')).equals(fs.readFileSync(path.join(reference, 'triggers.idx'))), 'the first run is byte-identical to an undisturbed one');
  // merge writes an index folder too
  const shards = [0, 1].map((index) => path.join(dir, `shard${index}`));
  for (const [index, shardOut] of shards.entries()) await buildTriggerIndex(model, { corpus: [corpus], out: shardOut, shard: { index, count: 2 } });
  const merged = path.join(dir, 'merged');
  fs.mkdirSync(merged);
  const lock = lockFolder(merged, 'a test');
  try {
    await assert.rejects(mergeTriggerIndexes(shards, merged), /merged is in use by pid \d+ \(a test, since/);
  } finally {
    lock.release();
  }
  await mergeTriggerIndexes(shards, merged);
  assert.deepEqual(fs.readdirSync(merged), ['triggers.idx']);
});

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('index: a stale lock (dead pid, or a live pid with another start time) is taken over', async () => {
  const model = await modelP;
  const dir = tempDir();
  const corpus = writeCorpus(dir, 'c.txt', randomParagraphs(20, 12));
  for (const owner of [
    { pid: deadPid(), host: os.hostname(), started: null, since: 'earlier' },
    { pid: process.ppid, host: os.hostname(), started: '1', since: 'earlier' },
    'not json at all',
  ]) {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    fs.writeFileSync(path.join(out, LOCK_NAME), typeof owner === 'string' ? owner : JSON.stringify(owner));
    await buildTriggerIndex(model, { corpus: [corpus], out });
    assert.deepEqual(fs.readdirSync(out), ['triggers.idx']);
    openTriggerIndex(out, model);
  }
});

test('lock: a live lock of another process is respected and names it', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, LOCK_NAME), JSON.stringify({ pid: process.ppid, host: os.hostname(), started: null, since: 'then', work: 'work' }));
  assert.throws(() => lockFolder(dir, 'work'), new RegExp(`is in use by pid ${process.ppid} \\(work, since then\\).*delete .*${LOCK_NAME}`));
  // the extension's "start over" removes a checkpoint only when no run holds the folder
  fs.writeFileSync(path.join(dir, 'checkpoint.bin'), 'a run in progress');
  assert.throws(() => discardTriggerIndexRun(dir), /in use by pid/);
  assert.ok(fs.existsSync(path.join(dir, 'checkpoint.bin')));
  const other = tempDir();
  fs.writeFileSync(path.join(other, LOCK_NAME), JSON.stringify({ pid: 1, host: 'elsewhere', started: null, since: 'then' }));
  assert.throws(() => lockFolder(other, 'work'), /in use by pid 1 on elsewhere/);
  const held = lockFolder(tempDir(), 'work');
  held.release();
  held.release();
  assert.ok(!fs.existsSync(held.file));
});

test('taking a folder removes temp files that killed writers left, and keeps those of live processes', () => {
  const dir = tempDir();
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const stale = path.join(dir, `.status.json.tmp-${dead}-0`);
  const live = path.join(dir, `.status.json.tmp-${process.ppid}-0`);
  const other = path.join(dir, 'notes.tmp-1-1');
  for (const f of [stale, live, other]) fs.writeFileSync(f, 'x');
  const lock = lockFolder(dir, 'a test');
  try {
    assert.equal(fs.existsSync(stale), false, 'the dead writer’s temp file is gone');
    assert.equal(fs.existsSync(live), true, 'a live process’s temp file stays');
    assert.equal(fs.existsSync(other), true, 'files not named as writeFileAtomic names them stay');
  } finally {
    lock.release();
  }
});
