/** Bad checkpoints and arguments fail with clear errors and no crash or hang. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, supportedModelTypes } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';

const planted = () => writePlantedModel({ words: ['a', 'b', 'c'], plants: [] }, tempDir());

test('errors: truncated safetensors', async () => {
  const m = planted();
  const file = path.join(m.dir, 'model.safetensors');
  fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 200));
  await assert.rejects(loadModel(m.dir, { noCache: true }), /not a valid safetensors file/);
});

test('errors: corrupt safetensors header', async () => {
  const m = planted();
  const file = path.join(m.dir, 'model.safetensors');
  const b = fs.readFileSync(file);
  b.fill(0x41, 8, 40);
  fs.writeFileSync(file, b);
  await assert.rejects(loadModel(m.dir, { noCache: true }), /model.safetensors: not a valid safetensors file/);
});

test('errors: a shard listed in the index is missing', async () => {
  const m = planted();
  fs.renameSync(path.join(m.dir, 'model.safetensors'), path.join(m.dir, 'model-00001-of-00002.safetensors'));
  fs.writeFileSync(path.join(m.dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } }));
  await assert.rejects(loadModel(m.dir, { noCache: true }), /missing shard model-00002-of-00002.safetensors/);
});

test('errors: config.json that is not JSON, lacks a size, or names an unsupported architecture', async () => {
  const m = planted();
  const config = path.join(m.dir, 'config.json');
  const original = JSON.parse(fs.readFileSync(config, 'utf8'));
  fs.writeFileSync(config, '{ "model_type": "gpt2", ');
  await assert.rejects(loadModel(m.dir, { noCache: true }), /config.json is not valid JSON/);
  fs.writeFileSync(config, JSON.stringify({ ...original, n_embd: undefined }));
  await assert.rejects(loadModel(m.dir, { noCache: true }), /config.json: missing number "n_embd"/);
  fs.writeFileSync(config, JSON.stringify({ ...original, model_type: 'mamba' }));
  await assert.rejects(loadModel(m.dir, { noCache: true }), (e: Error) => e.message.includes('unsupported architecture: model_type "mamba"') && e.message.includes(supportedModelTypes().join(', ')));
});

test('errors: weights that do not fit the config name the tensor', async () => {
  const m = planted();
  const config = path.join(m.dir, 'config.json');
  fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), n_layer: 3 }));
  await assert.rejects(loadModel(m.dir, { noCache: true }), /no tensor "transformer.h.2\./);
  fs.writeFileSync(config, JSON.stringify({ ...JSON.parse(fs.readFileSync(config, 'utf8')), n_layer: 2, n_inner: 6 }));
  await assert.rejects(loadModel(m.dir, { noCache: true }), /checkpoint does not match config.json: layer 0 keys is \[\d+,8\], expected \[\d+,6\]/);
});

test('errors: model specs that name nothing loadable', async () => {
  await assert.rejects(loadModel('  ', { noCache: true }), /no model given/);
  await assert.rejects(loadModel('/definitely/not/here', { noCache: true }), /model "\/definitely\/not\/here" not found/);
  const empty = tempDir();
  await assert.rejects(loadModel(empty, { noCache: true }), /without config.json/);
});

test('errors: bad token ids, positions and keys at run time', async () => {
  const m = planted();
  const model = await loadModel(m.dir, { noCache: true });
  try {
    await assert.rejects(model.run([[99]], ['logits']), /token id 99 is outside the vocabulary/);
    await assert.rejects(model.run([[1, 2]], ['logits'], [{ layer: 0, key: 999, mode: 'set', value: 0 }]), /key 999 is outside/);
    await assert.rejects(model.run([[1, 2]], ['logits'], [{ layer: 5, key: 0, mode: 'set', value: 0 }]), /layer 5 is outside/);
    await assert.rejects(model.run([[1, 2]], ['logits'], [{ layer: 0, key: 0, mode: 'set', value: 0, positions: [7] }]), /position 7 is outside/);
    await assert.rejects(model.run([Array(17).fill(1)], ['logits']), /17 tokens exceed the model's context of 16/);
    await assert.rejects(model.run([[]], ['logits']), /no tokens/);
  } finally {
    await model.dispose();
  }
});
