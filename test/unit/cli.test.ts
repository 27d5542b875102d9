/** The CLI end to end (in-process), on the planted model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { SafetensorsFile } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir, runCli } from '../support';

const planted = writePlantedModel({ words: ['apple', 'banana', 'dog'], plants: [{ layer: 1, key: 3, trigger: 'apple', promotes: 'dog' }] });
const cache = tempDir();

test('cli inspect --json follows the documented schema', async () => {
  const r = await runCli('inspect', '--model', planted.dir, '--cache', cache, '--text', 'banana apple', '--top', '2', '--json', '-q');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.model.family, 'gpt2');
  assert.equal(j.model.nLayers, 2);
  assert.deepEqual(j.tokens, [
    { id: planted.idOf('banana'), text: 'banana', start: 0, end: 6 },
    { id: planted.idOf('apple'), text: 'apple', start: 7, end: 12 },
  ]);
  assert.equal(j.layers.length, 2);
  assert.deepEqual(j.layers[1].positions[1].top[0].key, 3);
  assert.equal(j.layers[1].positions[1].top.length, 2);
  assert.equal(j.predictions[1][0].text, 'dog');
  assert.ok(j.predictions[1][0].prob > 0.5);
});

test('cli inspect human output is a table with predictions and memories', async () => {
  const r = await runCli('inspect', '--model', planted.dir, '--cache', cache, '--text', 'banana apple', '-q');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /pos\s+token\s+chars\s+next-token predictions/);
  assert.match(r.stdout, /1\s+"apple"\s+7-12\s+"dog"/);
  assert.match(r.stdout, /layer 1: top memories/);
  assert.match(r.stdout, /"apple"\s+\d+\s+3:\d/);
});

test('cli activations writes the requested hooks to safetensors under their names', async () => {
  const out = path.join(tempDir(), 'acts.safetensors');
  const r = await runCli('activations', '--model', planted.dir, '--cache', cache, '--text', 'banana apple dog', '--hooks', 'blocks.*.mlp.coeff,blocks.0.hook_resid_pre', '--out', out, '-q');
  assert.equal(r.code, 0, r.stderr);
  const f = SafetensorsFile.open(out);
  assert.deepEqual([...f.entries.keys()].sort(), ['blocks.0.mlp.coeff', 'blocks.0.resid_pre', 'blocks.1.mlp.coeff', 'input_ids']);
  assert.deepEqual(f.get('blocks.1.mlp.coeff').shape, [3, 8]);
  assert.ok(f.get('blocks.1.mlp.coeff').data[1 * 8 + 3] > 1, 'the planted key fires on "apple"');
  assert.equal(f.metadata.model_hash.length, 32);
});

test('cli: usage errors exit 2 with the usage line; runtime errors exit 1 with the reason', async () => {
  const none = await runCli('inspect', '--model', planted.dir);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /give exactly one of --text T or --file F/);
  assert.match(none.stderr, /usage: ffn-lens inspect/);
  const unknown = await runCli('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const empty = await runCli('inspect', '--model', planted.dir, '--cache', cache, '--text', '   ', '-q');
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /nothing to inspect: the text is empty/);
  const long = await runCli('inspect', '--model', planted.dir, '--cache', cache, '--text', 'apple '.repeat(40), '-q');
  assert.equal(long.code, 1);
  assert.match(long.stderr, /40 tokens but .* reads at most 16/);
  const missing = await runCli('inspect', '--model', planted.dir, '--file', '/nope.txt');
  assert.match(missing.stderr, /cannot read --file \/nope.txt: ENOENT/);
  const badHook = await runCli('activations', '--model', planted.dir, '--cache', cache, '--text', 'apple', '--hooks', 'nothing.here', '--out', '/tmp/x.safetensors', '-q');
  assert.equal(badHook.code, 1);
  assert.match(badHook.stderr, /no hook matches "nothing.here"/);
});

test('cli --precision: int8 loads a quantized graph with the same planted behaviour; other values are usage errors', async () => {
  const r = await runCli('inspect', '--model', planted.dir, '--cache', cache, '--precision', 'int8', '--text', 'banana apple', '-q');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1\s+"apple"\s+7-12\s+"dog"/);
  const bad = await runCli('inspect', '--model', planted.dir, '--precision', 'fp16', '--text', 'apple');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--precision must be fp32 or int8, got "fp16"/);
});
