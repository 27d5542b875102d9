/**
 * A hub is a server FFN Lens does not control: shard names that climb out of the cache
 * are refused before anything is fetched, and a server that never answers or stalls
 * mid-file fails with a clear timeout instead of hanging.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { loadModel } from '../../src/core';
import { downloadModel } from '../../src/core/load/hub';
import { timedFetch } from '../../src/core/load/hubFetch';
import { writePlantedModel } from '../fixtures/planted';
import { serveHub } from '../fixtures/hubServer';
import { tempDir } from '../support';

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

for (const shard of ['../../PWNED.sh', '../../../../../../../tmp/PWNED.sh', '/tmp/PWNED-abs.sh', 'sub/../../PWNED.sh']) {
  test(`hub: a shard named ${JSON.stringify(shard)} is refused; nothing is written outside the cache, nothing stays in it`, async () => {
    const root = tempDir();
    const cacheDir = path.join(root, 'a', 'b', 'cache');
    const planted = writePlantedModel({ words: ['red', 'blue'], plants: [] }, path.join(root, 'served'));
    const index = { metadata: {}, weight_map: { 'transformer.wte.weight': shard } };
    const hub = await serveHub('evil/model', planted.dir, { 'model.safetensors.index.json': JSON.stringify(index), 'PWNED.sh': '#!/bin/sh\necho pwned\n' });
    const before = filesUnder(root);
    try {
      await assert.rejects(loadModel('evil/model', { cacheDir, hubEndpoint: hub.url }), (e: Error) => /points outside .*refusing it/.test(e.message) && e.message.includes(JSON.stringify(shard)));
    } finally {
      await hub.close();
    }
    assert.ok(!hub.requests.some((r) => r.includes('PWNED')), `the hostile shard was never requested: ${hub.requests.join(', ')}`);
    const written = filesUnder(root).filter((f) => !before.includes(f));
    assert.ok(written.every((f) => f.startsWith(path.join('a', 'b', 'cache') + path.sep)), `only the cache was written: ${written.join(', ')}`);
    assert.ok(!written.some((f) => f.endsWith('model.safetensors.index.json')), 'the refused index does not stay in the cache');
    assert.ok(!fs.existsSync('/tmp/PWNED.sh') || fs.readFileSync('/tmp/PWNED.sh', 'utf8') !== '#!/bin/sh\necho pwned\n');
  });
}

test('local: a weight_map entry outside the model directory is refused before any file is opened', async () => {
  for (const shard of ['../../../../etc/passwd', '/etc/passwd', 7]) {
    const planted = writePlantedModel({ words: ['red', 'blue'], plants: [] }, tempDir());
    fs.renameSync(path.join(planted.dir, 'model.safetensors'), path.join(planted.dir, 'model-1.safetensors'));
    fs.writeFileSync(path.join(planted.dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'transformer.wte.weight': shard, other: 'model-1.safetensors' } }));
    await assert.rejects(loadModel(planted.dir, { cacheDir: tempDir(), noCache: true }), (e: Error) => /model\.safetensors\.index\.json/.test(e.message) && (/points outside/.test(e.message) || /every "weight_map" entry must name a shard file/.test(e.message)));
  }
});

/** A server that accepts connections and never says a word. */
async function silentServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
    close: () => new Promise((r) => {
      sockets.forEach((s) => s.destroy());
      server.close(() => r());
    }),
  };
}

test('hub: a server that accepts and never answers fails with a timeout naming the host and the setting', async () => {
  const server = await silentServer();
  const started = performance.now();
  try {
    await assert.rejects(downloadModel('quiet/model', { cacheDir: tempDir(), endpoint: server.url, timeoutMs: 200 }), (e: Error) => /sent nothing for 0\.2 s before answering/.test(e.message) && /HF_HUB_DOWNLOAD_TIMEOUT/.test(e.message) && e.message.includes('127.0.0.1'));
  } finally {
    await server.close();
  }
  assert.ok(performance.now() - started < 5000, 'fails within a few timeouts, not after the system defaults');
});

test('hub: a server that stalls in the middle of the weights fails with a timeout and leaves no partial file', async () => {
  const planted = writePlantedModel({ words: ['red', 'blue'], plants: [] }, tempDir());
  const cacheDir = tempDir();
  const server = http.createServer((req, res) => {
    const file = path.join(planted.dir, path.basename(req.url ?? ''));
    if (!fs.existsSync(file)) return void res.writeHead(404).end();
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length });
    // the weights: half, then silence
    if (file.endsWith('model.safetensors')) res.write(body.subarray(0, body.length >> 1));
    else res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    await assert.rejects(downloadModel('slow/model', { cacheDir, endpoint, timeoutMs: 300 }), /sent nothing for 0\.3 s while sending model\.safetensors/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
  const dir = path.join(cacheDir, 'slow', 'model');
  assert.ok(!fs.existsSync(path.join(dir, 'model.safetensors')), 'no weights file after a failed download');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.part')), [], 'no partial file left');
});

test('hub: a response streaming without end is cut off at its byte limit', async () => {
  const server = http.createServer((_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (res.write(chunk));
    };
    res.on('drain', pump);
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/x/resolve/main/config.json`;
    const res = await timedFetch(5000, undefined, 1024 * 1024)(url);
    await assert.rejects(res.text(), /sent more than 1048576 bytes for config\.json; refusing it/);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
