/**
 * The real hub download path, against a local server laid out like the hub
 * ({repo}/resolve/{revision}/{file}); this machine cannot reach the hub itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadProgress } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';
import { serveHub } from '../fixtures/hubServer';


test('hub: a hub id downloads config, tokenizer and weights with progress, then loads from the cache offline', async () => {
  const planted = writePlantedModel({ words: ['red', 'green', 'blue'], plants: [{ layer: 0, key: 1, trigger: 'red', promotes: 'blue' }] }, tempDir());
  const cacheDir = tempDir();
  const hub = await serveHub('test-org/planted', planted.dir);
  const progress: LoadProgress[] = [];
  try {
    const model = await loadModel('test-org/planted', { cacheDir, hubEndpoint: hub.url, onProgress: (p) => progress.push(p) });
    assert.equal(model.info.name, 'test-org/planted');
    assert.deepEqual(model.tokenizer.encode('red blue'), [planted.idOf('red'), planted.idOf('blue')]);
    await model.dispose();
  } finally {
    await hub.close();
  }
  assert.ok(hub.requests.some((r) => r.endsWith('/model.safetensors')), 'weights were fetched');
  assert.ok(progress.some((p) => p.stage === 'download' && p.fraction === 1), 'download progress reached 100%');
  const cached = path.join(cacheDir, 'hub', 'test-org', 'planted');
  assert.deepEqual(fs.readFileSync(path.join(cached, 'model.safetensors')), fs.readFileSync(path.join(planted.dir, 'model.safetensors')));
  assert.ok(!fs.readdirSync(cached).some((f) => f.includes('.part-')), 'no partial files left');

  // the server is gone: the cached copy is enough
  const again = await loadModel('test-org/planted', { cacheDir, hubEndpoint: hub.url });
  await again.dispose();
});

test('hub: offline, a hub id fails fast with a message naming the local-directory alternative', async () => {
  const cacheDir = tempDir();
  const hub = await serveHub('someone/else', tempDir());
  await hub.close();
  await assert.rejects(loadModel('nobody/nothing', { cacheDir, hubEndpoint: hub.url }), (e: Error) => /cannot download .* of "nobody\/nothing"/.test(e.message) && /local directory/.test(e.message));
});
