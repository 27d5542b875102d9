#!/usr/bin/env node
// `npm run package`: one platform-specific .vsix per onnxruntime-node platform (linux-x64,
// linux-arm64, darwin-arm64, win32-x64, win32-arm64), made offline with @vscode/vsce --target.
// onnxruntime-node ships no darwin-x64 binary, so Intel Macs have no package.
//
// The bundles are built once; each target is staged in out/package/<target>/ and vsce runs there,
// so exactly these files go in:
//   dist/*.js (a --production build: extension.js, engineWorker.js, webview.js; not the CLI), media/,
//   package.json (without scripts and devDependencies; its only dependency onnxruntime-node),
//   README.md, LICENSE,
//   node_modules/onnxruntime-node: its JS and, of the target's binaries, only the files that loading
//     onnxruntime_binding.node maps, read from the binaries' own headers (scripts/nativeDeps.mjs):
//     darwin keeps libonnxruntime.1.dylib, the name the binding asks @rpath for, not the identical
//     libonnxruntime.1.30.0.dylib; win32 drops DirectML/dxcompiler/dxil, which onnxruntime.dll only
//     delay-loads for the DirectML provider (the engine runs the CPU provider),
//   node_modules/onnxruntime-common.
// Every other package is bundled into dist/ by esbuild (scripts/build.mjs); onnxruntime-web and
// sharp, which @huggingface/transformers depends on, are not needed at run time.
// .vscodeignore, copied into the staging folder with the target's native files appended, is the
// allow-list vsce applies on top.
//
// Usage: node scripts/package.mjs [--target T] [--out FILE.vsix (one target)] [--out-dir DIR] [--staging DIR]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClosure, readNative } from './nativeDeps.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

/** Each target's size budget: win32 carries a bigger onnxruntime.dll. */
const BUDGET_MB = { 'linux-x64': 25, 'linux-arm64': 25, 'darwin-arm64': 25, 'win32-x64': 35, 'win32-arm64': 35 };
const BINDING = 'onnxruntime_binding.node';

function value(name) {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (!v || v.startsWith('--')) fail(`${name} needs a value`);
  return v;
}

function arg(name) {
  const v = value(name);
  return v === undefined ? undefined : path.resolve(v);
}

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function run(cmd, args, cwd) {
  // stdin closed: should vsce ever ask a question, it fails instead of waiting for an answer
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) fail(`${path.basename(cmd)}: ${r.error.message}`);
  if (r.status !== 0) fail(`${[path.basename(cmd), ...args].join(' ')} exited with ${r.status ?? r.signal}`);
}

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const targetArg = value('--target');
if (targetArg !== undefined && !(targetArg in BUDGET_MB)) {
  fail(`--target must be one of ${Object.keys(BUDGET_MB).join(', ')}${targetArg === 'darwin-x64' ? ' (onnxruntime-node ships no darwin-x64 binary)' : ''}`);
}
const targets = targetArg ? [targetArg] : Object.keys(BUDGET_MB);
const outFile = arg('--out');
if (outFile && targets.length > 1) fail('--out names one file: give --target too, or use --out-dir');
const outDir = arg('--out-dir') ?? root;
const stageRoot = arg('--staging') ?? path.join(root, 'out', 'package');

let vsce;
try {
  const vscePkg = require.resolve('@vscode/vsce/package.json');
  vsce = path.join(path.dirname(vscePkg), JSON.parse(fs.readFileSync(vscePkg, 'utf8')).bin.vsce);
} catch {
  fail('@vscode/vsce is not installed (npm install)');
}

/** The folder of package `name` as Node resolves it from `from` (its exports may hide package.json). */
function packageDir(name, from) {
  let dir = path.dirname(createRequire(from).resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) fail(`cannot find the folder of ${name}`);
    dir = up;
  }
  return dir;
}

const ortNode = packageDir('onnxruntime-node', path.join(root, 'package.json'));
const ortCommon = packageDir('onnxruntime-common', path.join(ortNode, 'package.json'));

/**
 * The target's native files that loading the binding maps, checked against the target: each must
 * be a binary of the target's format and architecture.
 */
function nativeFiles(target) {
  const [platform, arch] = target.split('-');
  const dir = path.join(ortNode, 'bin', 'napi-v6', platform, arch);
  if (!fs.existsSync(path.join(dir, BINDING))) fail(`onnxruntime-node ${ortVersion} has no ${BINDING} for ${target}`);
  const files = new Map();
  for (const name of fs.readdirSync(dir)) {
    let info;
    try {
      info = readNative(fs.readFileSync(path.join(dir, name)), name);
    } catch (err) {
      fail(`${target}: ${err.message}`);
    }
    const format = { linux: 'elf', darwin: 'macho', win32: 'pe' }[platform];
    if (info.format !== format || info.arch !== arch) fail(`${target}: ${name} is ${info.format} ${info.arch}, not ${format} ${arch}`);
    files.set(name, info);
  }
  const { load, delayOnly } = loadClosure(BINDING, files);
  const left = [...files.keys()].filter((n) => !load.includes(n));
  return { dir, load, left, delayOnly };
}

const ortVersion = JSON.parse(fs.readFileSync(path.join(ortNode, 'package.json'), 'utf8')).version;
fs.rmSync(stageRoot, { recursive: true, force: true });
fs.mkdirSync(stageRoot, { recursive: true });

// 1. the bundles, minified, without source maps, once for every target
const bundles = path.join(stageRoot, 'dist');
run(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--production', '--outdir', bundles], root);
// the ffn-lens command's bundle: the extension never runs it, and its bin/ launcher is not packed
fs.rmSync(path.join(bundles, 'cli.js'), { force: true });

const manifest = { ...pkg, dependencies: { 'onnxruntime-node': pkg.dependencies['onnxruntime-node'] } };
// scripts would run in vsce (vscode:prepublish); bin names a launcher the package does not carry
delete manifest.scripts;
delete manifest.devDependencies;
delete manifest.bin;
delete manifest.allowScripts;
// onnxruntime-node's other dependencies (adm-zip, global-agent) serve only its install script,
// which is dropped, so `npm ls` (run by vsce to list what to pack) sees a complete tree.
const ortPkg = JSON.parse(fs.readFileSync(path.join(ortNode, 'package.json'), 'utf8'));
ortPkg.dependencies = { 'onnxruntime-common': ortPkg.dependencies['onnxruntime-common'] };
delete ortPkg.scripts;
delete ortPkg.devDependencies;
const noTypes = (src) => !/\.(d\.ts|map)$/.test(src);

for (const target of targets) {
  const [platform, arch] = target.split('-');
  const natives = nativeFiles(target);
  const stage = path.join(stageRoot, target);
  fs.mkdirSync(stage, { recursive: true });
  fs.cpSync(bundles, path.join(stage, 'dist'), { recursive: true });

  // 2. the extension's own files
  for (const f of ['README.md', 'LICENSE', '.vscodeignore', 'media']) {
    if (!fs.existsSync(path.join(root, f))) fail(`${f} is missing`);
    fs.cpSync(path.join(root, f), path.join(stage, f), { recursive: true });
  }
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

  // 3. onnxruntime-node, as it is required at run time, with the binaries its binding loads
  const ortDest = path.join(stage, 'node_modules', 'onnxruntime-node');
  fs.mkdirSync(ortDest, { recursive: true });
  fs.writeFileSync(path.join(ortDest, 'package.json'), JSON.stringify(ortPkg, null, 2) + '\n');
  fs.cpSync(path.join(ortNode, 'dist'), path.join(ortDest, 'dist'), { recursive: true, filter: noTypes });
  const binRel = `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}`;
  fs.mkdirSync(path.join(stage, binRel), { recursive: true });
  for (const name of natives.load) fs.copyFileSync(path.join(natives.dir, name), path.join(stage, binRel, name));
  fs.appendFileSync(path.join(stage, '.vscodeignore'), natives.load.map((n) => `!${binRel}/${n}\n`).join(''));
  const commonDest = path.join(stage, 'node_modules', 'onnxruntime-common');
  fs.mkdirSync(commonDest, { recursive: true });
  fs.copyFileSync(path.join(ortCommon, 'package.json'), path.join(commonDest, 'package.json'));
  fs.cpSync(path.join(ortCommon, 'dist', 'cjs'), path.join(commonDest, 'dist', 'cjs'), { recursive: true, filter: noTypes });

  // 4. vsce, offline
  const out = outFile ?? path.join(outDir, `${pkg.name}-${target}-${pkg.version}.vsix`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.rmSync(out, { force: true });
  run(process.execPath, [vsce, 'package', '--target', target, '--out', out, '--allow-missing-repository'], stage);

  const mb = fs.statSync(out).size / 1024 / 1024;
  const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
  const dropped = natives.left.length ? `; left out ${natives.left.join(', ')}${natives.delayOnly.length ? ` (${natives.delayOnly.join(', ')} only delay-loaded)` : ''}` : '';
  console.log(`package: ${shown} (${mb.toFixed(1)} MB, ${target}: ${natives.load.join(' → ')}${dropped})`);
  if (mb > BUDGET_MB[target]) fail(`${shown} is ${mb.toFixed(1)} MB, over the ${BUDGET_MB[target]} MB budget for ${target}`);
}
