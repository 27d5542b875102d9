/**
 * The CLI under bad input and rough handling: numbers out of range or negative, a reader
 * that goes away (EPIPE), SIGTERM and repeated signals during `index`, a full disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCK_NAME } from '../../src/core/io/lock';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { runCli, tempDir } from '../support';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts');
const planted = plantedForTriggers();
const cache = tempDir();
const dir = tempDir();

test('numeric options: ranges, strict integers, negative numbers as values (not "ambiguous")', async () => {
  const m = ['--model', planted.dir, '--cache', cache, '-q'];
  const cases: [string[], RegExp][] = [
    [['inspect', ...m, '--text', 'the cat', '--top', '1000000000'], /--top must be an integer from 1 to 1000, got "1000000000"/],
    [['inspect', ...m, '--text', 'the cat', '--top', '1e3'], /--top must be an integer from 1 to 1000, got "1e3"/],
    [['inspect', ...m, '--text', 'the cat', '--threads', '100000'], /--threads must be an integer from 0 to 256, got "100000"/],
    [['inspect', ...m, '--text', 'the cat', '--threads', 'many'], /--threads must be an integer/],
    [['inspect', ...m, '--text', 'the cat', '--threshold', 'abc'], /--threshold must be a number, got "abc"/],
    [['values', ...m, '--layer', '-1', '--key', '0'], /--layer must be an integer from 0 to \d+, got "-1"/],
    [['values', ...m, '-l', '0', '-k', '-3'], /--key must be an integer from 0 to \d+, got "-3"/],
    [['search', ...m, '--token', 'cat', '--top', '-5'], /--top must be an integer from 1 to 1000, got "-5"/],
    [['index', ...m, '--corpus', 'c.txt', '--out', path.join(dir, 'x'), '--top', '1000000000'], /--top must be an integer from 1 to 1000/],
    [['index', ...m, '--corpus', 'c.txt', '--out', path.join(dir, 'x'), '--window', '-128'], /--window must be an integer from 1 to \d+, got "-128"/],
  ];
  for (const [argv, why] of cases) {
    const r = await runCli(...argv);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /ambiguous/);
  }
  const negative = await runCli('inspect', ...m, '--text', 'the cat sat', '--threshold', '-0.5', '--top', '3', '--json');
  assert.equal(negative.code, 0, negative.stderr);
  assert.ok(JSON.parse(negative.stdout).layers.length > 0);
});

test('a reader that goes away (| head -c 10): no EPIPE stack trace, the command ends normally', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'inspect', '--model', planted.dir, '--cache', cache, '--text', 'the cat sat on the mat', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy(); // the reader is gone before the first byte
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|Error|at /);
});

/** Starts a real `ffn-lens index` on a corpus long enough to be interrupted. */
function startIndex(out: string): { child: ReturnType<typeof spawn>; stderr: () => string; started: Promise<void>; closed: Promise<number | null> } {
  const big = writeCorpus(dir, `big-${path.basename(out)}.txt`, randomParagraphs(20000, 13));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'index', '--model', planted.dir, '--cache', cache, '--corpus', big, '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let onStart: () => void;
  const started = new Promise<void>((r) => (onStart = r));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (/indexed/.test(stderr)) onStart();
  });
  return { child, stderr: () => stderr, started, closed: new Promise((resolve) => child.on('close', resolve)) };
}

test('SIGTERM stops `ffn-lens index` with a checkpoint, as Ctrl-C does; the folder is unlocked', async () => {
  const out = path.join(dir, 'terminated');
  const run = startIndex(out);
  await run.started;
  run.child.kill('SIGTERM');
  assert.equal(await run.closed, 1, run.stderr());
  assert.match(run.stderr(), /SIGTERM: stopping after the current paragraphs and saving a checkpoint/);
  assert.match(run.stderr(), /Continue with:\n\s+ffn-lens index .* --resume/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['checkpoint.bin', 'status.json', 'tokens.spool']);
});

test('a second signal quits at once: never a spool without its checkpoint, never a lock left', async () => {
  const out = path.join(dir, 'quit');
  const run = startIndex(out);
  await run.started;
  run.child.kill('SIGINT');
  // the second once the first is acknowledged (signals sent together may arrive as one)
  while (!/stopping after/.test(run.stderr())) await new Promise((r) => setTimeout(r, 5));
  run.child.kill('SIGINT');
  // 130: quit at once; 1: the first signal's checkpoint was already written (a fast machine)
  assert.ok([1, 130].includes((await run.closed)!), run.stderr());
  // status.json: the run's own report of how far it got (index-status reads it)
  const left = fs.existsSync(out) ? fs.readdirSync(out).filter((f) => f !== 'status.json').sort() : [];
  assert.ok(left.length === 0 || (left.length === 2 && left[0] === 'checkpoint.bin' && left[1] === 'tokens.spool'), `left behind: ${left.join(', ')}`);
});

test('killed (SIGKILL) mid-run: the stale lock and stray spool do not stand in the way of the next run', async () => {
  const out = path.join(dir, 'killed');
  const run = startIndex(out);
  await run.started;
  run.child.kill('SIGKILL');
  await run.closed;
  assert.ok(fs.readdirSync(out).includes(LOCK_NAME), 'the killed run could not remove its lock');
  const small = writeCorpus(dir, 'small.txt', randomParagraphs(10, 14));
  const again = await runCli('index', '--model', planted.dir, '--cache', cache, '--corpus', small, '--out', out, '-q');
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(fs.readdirSync(out), ['triggers.idx']);
});

test('a full disk: the error names the file that could not be written', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a tiny tmpfs needs root');
  const mnt = path.join(tempDir(), 'tiny');
  fs.mkdirSync(mnt);
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', mnt]).status !== 0) return t.skip('cannot mount a tmpfs here');
  try {
    const corpus = writeCorpus(dir, 'full.txt', randomParagraphs(200, 15));
    const r = await runCli('index', '--model', planted.dir, '--cache', cache, '--corpus', corpus, '--out', path.join(mnt, 'out'), '-q');
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`cannot write ${mnt.replace(/[/.]/g, '\\$&')}/out/\\S+: ENOSPC \\(no space left on the device\\)`));
  } finally {
    spawnSync('umount', [mnt]);
  }
});
