/**
 * `npm run package` (scripts/package.mjs) end to end, for every target: each .vsix stays within
 * its budget (25 MB linux/darwin, 35 MB win32), carries only its own platform's native files,
 * each of the right format (ELF / Mach-O / PE) and architecture, every file onnxruntime ships
 * for that platform that a packed binary loads at load time, and none of the packages the bundles
 * replace. The linux-x64 one also runs on its own: its engine worker (dist/engineWorker.js),
 * unpacked into an empty temp folder with no node_modules but the .vsix's own, downloads a model
 * through the hub path (transformers.js, now bundled) from a local server laid out like the hub,
 * then inspects text. The binary reader itself is checked against binutils where it is installed.
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
import { readNative, type NativeInfo } from '../../scripts/nativeDeps.mjs';

const root = path.join(__dirname, '..', '..');
const MB = 1024 * 1024;
/** The budgets (scripts/package.mjs enforces its own copy). */
const TARGETS: Record<string, { budget: number; format: NativeInfo['format'] }> = {
  'linux-x64': { budget: 25 * MB, format: 'elf' },
  'linux-arm64': { budget: 25 * MB, format: 'elf' },
  'darwin-arm64': { budget: 25 * MB, format: 'macho' },
  'win32-x64': { budget: 35 * MB, format: 'pe' },
  'win32-arm64': { budget: 35 * MB, format: 'pe' },
};
const ORT_BIN = path.join(root, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');

function skipReason(): string | undefined {
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

/** All five packages, built once by one `npm run package` run (the bundles are shared). */
let builtOnce: { dir: string; stdout: string } | undefined;
function built(): { dir: string; stdout: string } {
  if (builtOnce) return builtOnce;
  const work = tempDir('ffn-lens-package-');
  const dir = path.join(work, 'vsix');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--out-dir', dir, '--staging', path.join(work, 'staging')], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm run package failed:\n${r.stdout}\n${r.stderr}`);
  builtOnce = { dir, stdout: r.stdout };
  return builtOnce;
}

function vsixEntries(target: string): Map<string, () => Buffer> {
  return readZip(fs.readFileSync(path.join(built().dir, `ffn-lens-${target}-0.1.0.vsix`)));
}

/** Starts with the magic number of an ELF, Mach-O (thin or fat) or MZ/PE file. */
function looksNative(b: Buffer): boolean {
  if (b.length < 4) return false;
  const be = b.readUInt32BE(0);
  return be === 0x7f454c46 || be === 0xcffaedfe || be === 0xcefaedfe || be === 0xcafebabe || b.readUInt16LE(0) === 0x5a4d;
}

for (const [target, { budget, format }] of Object.entries(TARGETS)) {
  test(`package: ${target} .vsix within ${budget / MB} MB with only ${target} binaries, each one it loads`, { timeout: 300_000 }, (t) => {
    const skip = skipReason();
    if (skip) return t.skip(skip);
    const [platform, arch] = target.split('-');
    const vsix = path.join(built().dir, `ffn-lens-${target}-0.1.0.vsix`);
    const size = fs.statSync(vsix).size;
    t.diagnostic(`${target} .vsix: ${(size / MB).toFixed(2)} MB`);
    assert.ok(size <= budget, `the ${target} .vsix is ${(size / MB).toFixed(1)} MB, over the ${budget / MB} MB budget`);

    const entries = vsixEntries(target);
    const names = [...entries.keys()];
    const binDir = `extension/node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}/`;
    for (const f of ['package.json', 'LICENSE.txt', 'dist/extension.js', 'dist/engineWorker.js', 'dist/webview.js', 'media/panel.css', 'node_modules/onnxruntime-common/dist/cjs/index.js']) {
      assert.ok(names.includes(`extension/${f}`), `the ${target} .vsix carries ${f}`);
    }
    assert.ok(names.includes(`${binDir}onnxruntime_binding.node`), `the ${target} .vsix carries the binding`);
    const replaced = names.filter((n) => /onnxruntime-web|sharp|@img|@huggingface|\.map$|^extension\/(src|test|webview|scripts)\//.test(n));
    assert.deepEqual(replaced, [], 'no bundled packages, sources or source maps');
    const modules = new Set(names.filter((n) => n.startsWith('extension/node_modules/')).map((n) => n.split('/')[2]));
    assert.deepEqual([...modules].sort(), ['onnxruntime-common', 'onnxruntime-node']);
    const manifest = JSON.parse(entries.get('extension/package.json')!().toString('utf8'));
    assert.equal(manifest.main, './dist/extension.js');
    assert.deepEqual(Object.keys(manifest.dependencies), ['onnxruntime-node']);
    assert.match(entries.get('extension.vsixmanifest')!().toString('utf8'), new RegExp(`TargetPlatform="${target}"`));

    // Every native file, wherever it sits and whatever its name: in the target's folder, of its
    // format and architecture. Nothing under another platform's folder at all.
    const natives = new Map<string, NativeInfo>();
    for (const [name, read] of entries) {
      const data = read();
      if (!looksNative(data)) continue;
      assert.ok(name.startsWith(binDir), `${name} is a native binary outside ${binDir}`);
      const info = readNative(data, name);
      assert.equal(info.format, format, `${name} format`);
      assert.equal(info.arch, arch, `${name} architecture`);
      natives.set(path.posix.basename(name), info);
    }
    const foreign = names.filter((n) => n.includes('/bin/napi-v6/') && !n.startsWith(binDir));
    assert.deepEqual(foreign, [], 'no other platform folder');

    // Every file a packed binary asks the loader for, that onnxruntime-node ships for this
    // platform, is packed too (what it does not ship is the OS's: libc, KERNEL32.dll, /usr/lib…).
    // Names compare by base name (@rpath/x.dylib → x.dylib), case-insensitively for Windows.
    const key = (n: string): string => (format === 'pe' ? n.toLowerCase() : n);
    const shipped = new Set(fs.readdirSync(path.join(ORT_BIN, platform, arch)).map(key));
    const packed = new Set([...natives.keys()].map(key));
    for (const [name, info] of natives) {
      for (const dep of info.needed) {
        const base = key(path.posix.basename(dep));
        if (shipped.has(base)) assert.ok(packed.has(base), `${name} loads ${dep}, which the ${target} .vsix lacks`);
      }
    }
    if (format === 'macho') {
      // @rpath names resolve only if the binding searches its own folder
      assert.ok(natives.get('onnxruntime_binding.node')!.rpaths.includes('@loader_path'), 'the binding searches @loader_path');
    }
    // and nothing packed that no packed binary loads (the binding is loaded by Node itself)
    const loaded = new Set([key('onnxruntime_binding.node'), ...[...natives.values()].flatMap((i) => i.needed.map((d) => key(path.posix.basename(d))))]);
    assert.deepEqual([...packed].filter((n) => !loaded.has(n)), [], 'every packed native file is loaded by another');
  });
}

test('package: the linux-x64 engine worker, unpacked alone, downloads from the hub and inspects', { timeout: 300_000 }, async (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  if (process.platform !== 'linux' || process.arch !== 'x64') return t.skip(`running the linux-x64 package needs linux-x64; this is ${process.platform}-${process.arch}`);
  const entries = vsixEntries('linux-x64');
  const work = tempDir('ffn-lens-package-run-');

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


// The reader against binutils on the binaries onnxruntime-node ships, where binutils is installed.
test('nativeDeps: load-time dependencies agree with readelf and objdump', (t) => {
  const tool = (cmd: string, args: string[]): string | undefined => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    return r.status === 0 ? r.stdout : undefined;
  };
  if (!tool('readelf', ['--version']) || !tool('objdump', ['--version'])) return t.skip('binutils (readelf, objdump) is not installed');
  for (const arch of ['x64', 'arm64']) {
    const f = path.join(ORT_BIN, 'linux', arch, 'onnxruntime_binding.node');
    const want = [...tool('readelf', ['-d', f])!.matchAll(/\(NEEDED\)\s+Shared library: \[(.+?)\]/g)].map((m) => m[1]);
    assert.ok(want.length > 0);
    assert.deepEqual(readNative(fs.readFileSync(f)).needed, want, `linux-${arch}`);
  }
  for (const arch of ['x64', 'arm64']) {
    for (const name of ['onnxruntime_binding.node', 'onnxruntime.dll']) {
      const f = path.join(ORT_BIN, 'win32', arch, name);
      const dump = tool('objdump', ['-p', f]);
      if (!dump) {
        t.diagnostic(`this objdump does not read win32-${arch} PE files; not cross-checked`);
        continue;
      }
      // objdump lists the import table, then (where it interprets it) the delay-import table
      const imports = dump.slice(dump.indexOf('The Import Tables'), dump.search(/The (Export Tables|Function Table|Delay Import)/));
      const want = [...imports.matchAll(/DLL Name: (\S+)/g)].map((m) => m[1]);
      assert.ok(want.length > 0);
      assert.deepEqual(readNative(fs.readFileSync(f)).needed, want, `win32-${arch} ${name}`);
    }
  }
});
