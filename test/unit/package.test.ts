/**
 * `npm run package` (scripts/package.mjs) end to end: the .vsix stays within its 25 MB budget,
 * carries only linux-x64 binaries and none of the packages the bundles replace, and what it
 * carries runs on its own: its engine worker (dist/engineWorker.js), unpacked into an empty
 * temp folder with no node_modules but the .vsix's own, downloads a model through the hub path
 * (transformers.js, now bundled) from a local server laid out like the hub, then inspects text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';
import { serveHub } from '../fixtures/hubServer';

const root = path.join(__dirname, '..', '..');
const BUDGET = 25 * 1024 * 1024;

function skipReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `the package is linux-x64; this is ${process.platform}-${process.arch}`;
  try {
    createRequire(path.join(root, 'package.json')).resolve('@vscode/vsce/package.json');
  } catch {
    return '@vscode/vsce is not installed (npm install)';
  }
  if (spawnSync('npm', ['-v'], { stdio: 'ignore' }).status !== 0) return 'npm is not on PATH (vsce runs `npm ls`)';
  return undefined;
}

/** The entries of a zip file (no zip64: a .vsix is far below 4 GB), each with a reader. */
function readZip(buf: Buffer): Map<string, () => Buffer> {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'the .vsix is not a zip file');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map<string, () => Buffer>();
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50, 'zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.set(name, () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      return method === 0 ? data : zlib.inflateRawSync(data);
    });
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return entries;
}


// Runs in a plain child node (no tsx): starts the unpacked worker as the extension host does and
// talks the engine protocol (src/extension/engineProtocol.ts) to it.
const DRIVER = `
const { Worker } = require('node:worker_threads');
const cfg = JSON.parse(process.env.FFN_PACKAGE_CHECK);
const worker = new Worker(cfg.worker);
const pending = new Map();
const progress = [];
let next = 0;
worker.on('message', (m) => {
  if (m.kind === 'progress') return void progress.push(m.progress);
  const p = pending.get(m.id);
  pending.delete(m.id);
  if (m.ok) p.resolve(m.result);
  else p.reject(new Error(m.error));
});
worker.on('error', (e) => { console.error('worker error:', e && e.stack || e); process.exit(1); });
const call = (method, params) => new Promise((resolve, reject) => {
  const id = ++next;
  pending.set(id, { resolve, reject });
  worker.postMessage({ kind: 'request', id, method, params });
});
(async () => {
  const info = await call('load', { spec: cfg.spec, cacheDir: cfg.cacheDir, threads: 1 });
  const inspect = await call('inspect', { text: cfg.text, topK: 2, threshold: 1 });
  process.stdout.write(JSON.stringify({ info, inspect, progress }));
  await worker.terminate();
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
`;

test('package: a linux-x64 .vsix within 25 MB whose engine worker downloads from the hub and inspects on its own', { timeout: 120_000 }, async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);

  const work = tempDir('ffn-lens-package-');
  const vsix = path.join(work, 'ffn-lens.vsix');
  const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--out', vsix, '--staging', path.join(work, 'staging')], { cwd: root, encoding: 'utf8' });
  assert.equal(built.status, 0, `npm run package failed:\n${built.stdout}\n${built.stderr}`);

  const size = fs.statSync(vsix).size;
  t.diagnostic(`.vsix size: ${(size / 1024 / 1024).toFixed(2)} MB`);
  assert.ok(size <= BUDGET, `the .vsix is ${(size / 1024 / 1024).toFixed(1)} MB, over the 25 MB budget`);

  const entries = readZip(fs.readFileSync(vsix));
  const names = [...entries.keys()];
  for (const f of ['package.json', 'LICENSE.txt', 'dist/extension.js', 'dist/engineWorker.js', 'dist/webview.js', 'media/panel.css', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'node_modules/onnxruntime-common/dist/cjs/index.js']) {
    assert.ok(names.includes(`extension/${f}`), `the .vsix carries ${f}`);
  }
  const foreign = names.filter((n) => /darwin|win32|arm64|\.dylib$|\.dll$/.test(n));
  assert.deepEqual(foreign, [], 'no other platform binaries');
  const replaced = names.filter((n) => /onnxruntime-web|sharp|@img|@huggingface|\.map$|^extension\/(src|test|webview|scripts)\//.test(n));
  assert.deepEqual(replaced, [], 'no bundled packages, sources or source maps');
  const modules = new Set(names.filter((n) => n.startsWith('extension/node_modules/')).map((n) => n.split('/')[2]));
  assert.deepEqual([...modules].sort(), ['onnxruntime-common', 'onnxruntime-node']);
  const manifest = JSON.parse(entries.get('extension/package.json')!().toString('utf8'));
  assert.equal(manifest.main, './dist/extension.js');
  assert.deepEqual(Object.keys(manifest.dependencies), ['onnxruntime-node']);
  assert.match(entries.get('extension.vsixmanifest')!().toString('utf8'), /TargetPlatform="linux-x64"/);

  // Unpack into a temp folder where Node can find no other package: nothing between it and / may
  // hold a node_modules, and HOME (~/.node_modules) points into a temp folder too.
  const ext = path.join(work, 'unpacked', 'extension');
  for (const [name, read] of entries) {
    if (!name.startsWith('extension/')) continue;
    const dest = path.join(ext, name.slice('extension/'.length));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, read());
  }
  for (let d = path.dirname(ext); ; d = path.dirname(d)) {
    assert.ok(!fs.existsSync(path.join(d, 'node_modules')), `${d}/node_modules exists: the isolation check would not be one`);
    if (path.dirname(d) === d) break;
  }

  const planted = writePlantedModel({ words: ['apple', 'banana', 'dog'], plants: [{ layer: 1, key: 3, trigger: 'apple', promotes: 'dog' }] }, tempDir());
  const hub = await serveHub('test-org/planted', planted.dir);
  const cacheDir = tempDir();
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: tempDir(), HF_ENDPOINT: hub.url };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  env.FFN_PACKAGE_CHECK = JSON.stringify({ worker: path.join(ext, 'dist', 'engineWorker.js'), spec: 'test-org/planted', cacheDir, text: 'banana apple' });
  let out: string;
  try {
    out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['-e', DRIVER], { cwd: ext, env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        err ? reject(new Error(`the unpacked engine worker failed (exit ${err.code ?? err.signal}):\n${stderr}`)) : resolve(stdout),
      ),
    );
  } finally {
    await hub.close();
  }
  const r = JSON.parse(out) as {
    info: { name: string; family: string; nLayers: number };
    inspect: { tokens: { text: string }[]; layers: { positions: { keys: number[] }[] }[]; predictions: { text: string; prob: number }[][] };
    progress: { stage: string; fraction?: number }[];
  };
  assert.deepEqual([r.info.name, r.info.family, r.info.nLayers], ['test-org/planted', 'gpt2', 2]);
  for (const f of ['config.json', 'tokenizer.json', 'model.safetensors']) {
    assert.ok(hub.requests.some((u) => u.endsWith(`/${f}`)), `${f} came from the hub server`);
  }
  assert.ok(r.progress.some((p) => p.stage === 'download'), 'download progress was reported');
  assert.ok(fs.existsSync(path.join(cacheDir, 'hub', 'test-org', 'planted', 'model.safetensors')), 'the weights are in the cache');
  assert.deepEqual(r.inspect.tokens.map((x) => x.text), ['banana', 'apple']);
  assert.equal(r.inspect.layers[1].positions[1].keys[0], 3, 'the planted memory is the top one on "apple"');
  assert.equal(r.inspect.predictions[1][0].text, 'dog');
  fs.rmSync(work, { recursive: true, force: true });
});
