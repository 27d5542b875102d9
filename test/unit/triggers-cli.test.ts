/** The index, merge, triggers and patterns commands end to end, and Ctrl-C on a real process. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { tempDir, runCli } from '../support';

const planted = plantedForTriggers();
const cache = tempDir();
const dir = tempDir();
const corpus = writeCorpus(dir, 'corpus.txt', [...randomParagraphs(60, 11), 'the cat sat on the mat', 'a big cat sat', 'the cat sat home']);

test('cli index, triggers (human and --json) and patterns on the planted model', async () => {
  const out = path.join(dir, 'index');
  const built = await runCli('index', '--model', planted.dir, '--cache', cache, '--corpus', corpus, '--out', out, '--top', '6');
  assert.equal(built.code, 0, built.stderr);
  assert.match(built.stderr, /indexed [\d,]+ \/ ~[\d,]+ \(\d+%\) tokens, [\d,]+ paragraphs, [\d,]+ tok\/s/);
  assert.match(built.stdout, /trigger index written to .*index: [\d,]+ tokens/);

  // --model defaults to the model the index was built with
  const human = await runCli('triggers', '--index', out, '--layer', '0', '--key', '3', '-q');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /layer 0 · key 3: 6 triggers/);
  assert.match(human.stdout, /#\s+coeff\s+paragraph\s+window\s+pos\s+prefix ⟦trigger⟧ → next/);
  assert.equal(human.stdout.match(/⟦cat⟧/g)?.length, 6, 'every trigger is marked on "cat"');

  const json = await runCli('triggers', '--index', out, '--layer', '0', '--key', '3', '--json', '-q', '--model', planted.dir);
  const j = JSON.parse(json.stdout);
  assert.equal(j.triggers.length, 6);
  for (const t of j.triggers) {
    assert.equal(t.trigger.text, 'cat');
    assert.deepEqual(Object.keys(t).sort(), ['coeff', 'next', 'nextToken', 'paragraph', 'position', 'prefix', 'prefixText', 'trigger', 'window']);
  }

  const labels = path.join(dir, 'labels.json');
  fs.writeFileSync(labels, JSON.stringify({ version: 1, labels: [{ layer: 0, key: 3, text: 'the word cat', kind: 'shallow' }] }));
  const key = await runCli('patterns', '--index', out, '--layer', '0', '--key', '3', '--labels', labels, '-q');
  assert.equal(key.code, 0, key.stderr);
  assert.match(key.stdout, /shallow\s+trigger token "cat"\s+6\/6/);
  assert.match(key.stdout, /human labels:\n\s+shallow\s+the word cat/);
  const layer = await runCli('patterns', '--index', out, '--layer', '0', '--json', '-q');
  assert.equal(layer.code, 0, layer.stderr);
  const l = JSON.parse(layer.stdout);
  assert.equal(l.keys.length, 12);
  assert.ok(l.summary.covered > 0 && l.summary.covered <= 1);
  const layerHuman = await runCli('patterns', '--index', out, '--layer', '0', '--labels', labels, '-q');
  assert.match(layerHuman.stdout, /triggers covered by a pattern: [\d.]+% \(shallow [\d.]+%, semantic [\d.]+%\)/);
  assert.match(layerHuman.stdout, /the word cat \(shallow\)/);
});

test('cli index --shard and merge; usage errors', async () => {
  const single = path.join(dir, 'single');
  assert.equal((await runCli('index', '-m', planted.dir, '--cache', cache, '-q', '--corpus', corpus, '--out', single)).code, 0);
  const shards = [0, 1].map((i) => path.join(dir, `shard${i}`));
  for (let i = 0; i < 2; i++) assert.equal((await runCli('index', '-m', planted.dir, '--cache', cache, '-q', '--corpus', corpus, '--out', shards[i], '--shard', `${i}/2`)).code, 0);
  const merged = await runCli('merge', '--out', path.join(dir, 'merged'), ...shards);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /merged 2 shards/);
  assert.ok(fs.readFileSync(path.join(dir, 'merged', 'triggers.idx')).equals(fs.readFileSync(path.join(single, 'triggers.idx'))));

  const bad = await runCli('index', '-m', planted.dir, '--corpus', corpus, '--out', path.join(dir, 'x'), '--shard', '2/2');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--shard 2\/2: need 0 ≤ i < n\nusage: ffn-lens index/);
  assert.equal((await runCli('index', '-m', planted.dir, '--out', path.join(dir, 'x'))).code, 2);
  assert.equal((await runCli('triggers', '--index', single, '--layer', '0')).code, 2);
  const wrongModel = await runCli('triggers', '--index', single, '--layer', '0', '--key', '0', '--model', path.join(dir, 'nothing'));
  assert.equal(wrongModel.code, 1);
  const noIndex = await runCli('triggers', '--index', path.join(dir, 'nothing'), '--layer', '0', '--key', '0');
  assert.match(noIndex.stderr, /holds no trigger index/);
});

test('Ctrl-C stops a real `ffn-lens index`, leaves a checkpoint and prints the command that resumes it', async () => {
  const big = writeCorpus(dir, 'big.txt', randomParagraphs(20000, 12));
  const out = path.join(dir, 'interrupted');
  const args = ['index', '--model', planted.dir, '--cache', cache, '--corpus', big, '--out', out];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'src', 'cli', 'main.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    // the first progress line means indexing is under way
    if (/indexed/.test(stderr) && !child.killed) child.kill('SIGINT');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 1, stderr);
  assert.match(stderr, /stopping after the current paragraphs and saving a checkpoint/);
  const hint = /Continue with:\n\s+ffn-lens (.*)\n/.exec(stderr);
  assert.ok(hint, stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), ['checkpoint.bin', 'status.json', 'tokens.spool']);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'status.json'), 'utf8')).state, 'stopped', 'index-status will show it stopped');

  const resumed = await runCli(...hint[1].split(' '));
  assert.equal(resumed.code, 0, resumed.stderr);
  const whole = path.join(dir, 'uninterrupted');
  assert.equal((await runCli(...args.slice(0, -1), whole, '-q')).code, 0);
  assert.ok(fs.readFileSync(path.join(out, 'triggers.idx')).equals(fs.readFileSync(path.join(whole, 'triggers.idx'))));
});
