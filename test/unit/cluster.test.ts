/**
 * Cluster runs without a cluster: merge refuses shards that do not belong together,
 * index-status reads real runs, and `index --slurm` drives sbatch/squeue/scancel stand-ins
 * that record their arguments (the real Slurm run is `npm run test:cluster`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, loadModel, mergeTriggerIndexes, TriggerIndexAborted, writeRunStatus, statusFile } from '../../src/core';
import { arraySpec, shardDir } from '../../src/cli/slurm';
import { splitShellWords } from '../../src/cli/shell';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { runCli, tempDir } from '../support';

const planted = plantedForTriggers();
const dir = tempDir();
const corpus = writeCorpus(dir, 'a.txt', randomParagraphs(40, 3));
const opts = { corpus: [corpus], top: 6, poolTokens: 30 };

test('shell words split as a shell would, and arrays compress to Slurm syntax', () => {
  assert.deepEqual(splitShellWords(` --partition=gpu  --time='2:00:00' --comment="a \\"b\\" c" x\\ y ''`, '--x'), ['--partition=gpu', '--time=2:00:00', '--comment=a "b" c', 'x y', '']);
  assert.throws(() => splitShellWords(`--a='b`, '--sbatch-args'), /--sbatch-args: unbalanced '/);
  assert.deepEqual([arraySpec([0, 1, 2, 3]), arraySpec([1]), arraySpec([0, 2, 3, 4, 7])], ['0-3', '1', '0,2-4,7']);
});

test('merge refuses shards that do not belong together, naming the difference', async () => {
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const shard = async (name: string, i: number, extra: object = {}) => {
      const out = path.join(dir, name);
      await buildTriggerIndex(model, { ...opts, out, shard: { index: i, count: 2 }, ...extra });
      return out;
    };
    const s0 = await shard('m0', 0);
    const s1 = await shard('m1', 1);
    const top = await shard('m1-top', 1, { top: 5 });
    const other = writeCorpus(dir, 'b.txt', randomParagraphs(40, 4));
    const corp = await shard('m1-corpus', 1, { corpus: [other] });
    const m = (dirs: string[]) => mergeTriggerIndexes(dirs, path.join(dir, 'merged'));
    await assert.rejects(m([s0, top]), /m0 and .*m1-top do not belong to one index; they differ in --top 6 against 5/);
    await assert.rejects(m([s0, corp]), /differ in corpus: corpus file 1 is a\.txt \(text, sha256 [0-9a-f]{12}…\) against b\.txt/);
    const s4 = path.join(dir, 'm-of-4');
    await buildTriggerIndex(model, { ...opts, out: s4, shard: { index: 1, count: 4 } });
    await assert.rejects(m([s0, s4]), /differ in shard count: 2 against 4/);

    // an unfinished shard is named as such
    const half = path.join(dir, 'm1-half');
    const controller = new AbortController();
    await assert.rejects(buildTriggerIndex(model, { ...opts, out: half, shard: { index: 1, count: 2 }, signal: controller.signal, onProgress: () => controller.abort() }), TriggerIndexAborted);
    await assert.rejects(m([s0, half]), /m1-half is unfinished \(it holds a checkpoint, no index\)/);

    await m([s0, s1]);
    assert.ok(fs.existsSync(path.join(dir, 'merged', 'triggers.idx')));

    // index-status: done, stopped at a checkpoint, running (this process), stale
    const running = path.join(dir, 'running');
    fs.mkdirSync(running);
    writeRunStatus(running, 'running', { index: 0, count: 2 }, { tokens: 500, totalTokens: 2000, tokensPerSecond: 100, etaSeconds: 15, paragraphs: 9 });
    const stale = path.join(dir, 'stale');
    fs.mkdirSync(stale);
    writeRunStatus(stale, 'running', null, { tokens: 5, totalTokens: 10, tokensPerSecond: 1, etaSeconds: 5, paragraphs: 1 });
    const st = JSON.parse(fs.readFileSync(statusFile(stale), 'utf8'));
    fs.writeFileSync(statusFile(stale), JSON.stringify({ ...st, updated: new Date(Date.now() - 3600_000).toISOString() }));
    const r = await runCli('index-status', '--json', s0, half, running, stale, path.join(dir, 'nothing'));
    assert.equal(r.code, 0, r.stderr);
    const [done, stopped, run, old, none] = JSON.parse(r.stdout);
    assert.deepEqual([done.state, done.fraction, done.shard], ['done', 1, { index: 0, count: 2 }]);
    assert.equal(stopped.state, 'stopped');
    assert.ok(stopped.fraction > 0 && stopped.fraction < 1, `checkpoint fraction ${stopped.fraction}`);
    assert.deepEqual([run.state, run.fraction, run.tokensPerSecond], ['running', 0.25, 100]);
    assert.ok(run.etaSeconds > 10 && run.etaSeconds <= 15);
    assert.equal(old.state, 'stale');
    assert.equal(none.state, 'not started');
    const human = await runCli('index-status', s0, running);
    assert.match(human.stdout, /running\s+25\.0%\s+500\s+100\s+1[0-5]s/);
    assert.match(human.stdout, /1 of 2 done, 1 running at 100 tok\/s together/);
  } finally {
    await model.dispose();
  }
});

/** sbatch, squeue and scancel stand-ins: each logs its arguments; squeue answers from a file. */
function fakeSlurm(): { bin: string; log: string; queue: string } {
  const bin = path.join(dir, 'fake-slurm');
  fs.mkdirSync(bin, { recursive: true });
  const log = path.join(bin, 'calls.log');
  const queue = path.join(bin, 'queue');
  fs.writeFileSync(queue, '');
  const script = (body: string) => `#!/bin/bash\necho "$(basename "$0") $*" >> ${log}\n${body}\n`;
  fs.writeFileSync(path.join(bin, 'sbatch'), script('echo "$((1000 + $(wc -l < ' + log + ')));cluster"'), { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'scancel'), script(''), { mode: 0o755 });
  // squeue: print the ids in the queue file whose name matches --name=…
  fs.writeFileSync(path.join(bin, 'squeue'), script('for a in "$@"; do case $a in --name=*) n=${a#--name=};; esac; done; grep -- " $n\\$" ' + queue + ' | cut -d" " -f1 || true'), { mode: 0o755 });
  return { bin, log, queue };
}

test('index --slurm writes editable scripts, submits an array and an afterok merge, and resubmits only unfinished shards', async () => {
  const slurm = fakeSlurm();
  const oldPath = process.env.PATH;
  process.env.PATH = `${slurm.bin}:${oldPath}`;
  try {
    const out = path.join(dir, 'cluster');
    const args = ['index', '--model', planted.dir, '--corpus', corpus, '--out', out, '--top', '6', '--slurm', '3', '--sbatch-args', "--partition=cpu --time='1:00:00'"];
    const first = await runCli(...args);
    assert.equal(first.code, 0, first.stderr);
    const script = fs.readFileSync(path.join(out, 'slurm', 'index.sbatch'), 'utf8');
    assert.match(script, /^#SBATCH --partition=cpu$/m);
    assert.match(script, /^#SBATCH --time=1:00:00$/m);
    assert.match(script, /index --model \S+ --corpus \S+a\.txt --top 6 --out "\$dir" --shard "\$task\/\$N"/);
    const merge = fs.readFileSync(path.join(out, 'slurm', 'merge.sbatch'), 'utf8');
    assert.match(merge, /merge --out \S+cluster \S+shard-0-of-3 \S+shard-1-of-3 \S+shard-2-of-3/);
    let calls = fs.readFileSync(slurm.log, 'utf8').trim().split('\n');
    const sb = calls.filter((c) => c.startsWith('sbatch'));
    assert.match(sb[0], /^sbatch --parsable --array=0-2 \S+index\.sbatch$/);
    assert.match(sb[1], /^sbatch --parsable --dependency=afterok:\d+ \S+merge\.sbatch$/);
    assert.match(first.stdout, /submitted array job \d+: shards 0-2 of 3/);

    // while tasks of this index are queued, a rerun refuses
    const name = /--job-name=(\S+)/.exec(script)![1];
    fs.writeFileSync(slurm.queue, `77_1 ${name}\n`);
    const busy = await runCli(...args);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /still queued or running \(77_1\)/);

    // shards 0 and 2 finished (run for real through the generated script when the CLI is built), 1 was cancelled
    const mergeName = /--job-name=(\S+)/.exec(merge)![1];
    fs.writeFileSync(slurm.queue, `88 ${mergeName}\n`);
    const built = fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'cli.js'));
    for (const i of [0, 2]) {
      if (built) {
        const r = spawnSync('bash', [path.join(out, 'slurm', 'index.sbatch')], { env: { ...process.env, SLURM_ARRAY_TASK_ID: String(i) }, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
      } else {
        const model = await loadModel(planted.dir, { noCache: true });
        await buildTriggerIndex(model, { ...opts, out: shardDir(out, i, 3), shard: { index: i, count: 3 } });
        await model.dispose();
      }
    }
    fs.writeFileSync(slurm.log, '');
    const again = await runCli(...args);
    assert.equal(again.code, 0, again.stderr);
    calls = fs.readFileSync(slurm.log, 'utf8').trim().split('\n');
    assert.ok(calls.includes('scancel 88'), 'the stale merge job is cancelled');
    assert.match(calls.find((c) => c.startsWith('sbatch --parsable --array'))!, /--array=1 /);
    assert.match(again.stdout, /shards 1 of 3 \(2 already done\)/);

    // everything done and merged: a rerun submits nothing
    const model = await loadModel(planted.dir, { noCache: true });
    await buildTriggerIndex(model, { ...opts, out: shardDir(out, 1, 3), shard: { index: 1, count: 3 } });
    await model.dispose();
    await mergeTriggerIndexes([0, 1, 2].map((i) => shardDir(out, i, 3)), out);
    fs.writeFileSync(slurm.log, '');
    fs.writeFileSync(slurm.queue, '');
    const done = await runCli(...args);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /all 3 shards and the merged index .* are done; nothing to submit/);
    assert.ok(!fs.readFileSync(slurm.log, 'utf8').includes('sbatch'));
  } finally {
    process.env.PATH = oldPath;
  }
});
