#!/usr/bin/env node
// `npm run package`: a platform-specific .vsix (linux-x64) made offline with @vscode/vsce.
//
// It stages the extension in out/package/ and runs vsce there, so exactly these files go in:
//   dist/*.js (a --production build: extension.js, engineWorker.js, webview.js; not the CLI), media/,
//   package.json (without scripts and devDependencies; its only dependency onnxruntime-node),
//   README.md, LICENSE,
//   node_modules/onnxruntime-node (its JS and the linux-x64 binaries only) and onnxruntime-common.
// Every other package is bundled into dist/ by esbuild (scripts/build.mjs); onnxruntime-web and
// sharp, which @huggingface/transformers depends on, are not needed at run time.
// .vscodeignore, copied into the staging folder, is the allow-list vsce applies on top.
//
// Usage: node scripts/package.mjs [--out FILE.vsix] [--staging DIR]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

const TARGET = 'linux-x64';
const [PLATFORM, ARCH] = TARGET.split('-');

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (!v || v.startsWith('--')) fail(`${name} needs a value`);
  return path.resolve(v);
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
const out = arg('--out') ?? path.join(root, `${pkg.name}-${TARGET}-${pkg.version}.vsix`);
const stage = arg('--staging') ?? path.join(root, 'out', 'package');

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
const binDir = path.join('bin', 'napi-v6', PLATFORM, ARCH);
if (!fs.existsSync(path.join(ortNode, binDir))) fail(`onnxruntime-node has no ${binDir}`);

fs.rmSync(stage, { recursive: true, force: true });
fs.mkdirSync(stage, { recursive: true });

// 1. the bundles, minified, without source maps
run(process.execPath, [path.join(root, 'scripts', 'build.mjs'), '--production', '--outdir', path.join(stage, 'dist')], root);
// the ffn-lens command's bundle: the extension never runs it, and its bin/ launcher is not packed
fs.rmSync(path.join(stage, 'dist', 'cli.js'), { force: true });

// 2. the extension's own files
for (const f of ['README.md', 'LICENSE', '.vscodeignore', 'media']) {
  if (!fs.existsSync(path.join(root, f))) fail(`${f} is missing`);
  fs.cpSync(path.join(root, f), path.join(stage, f), { recursive: true });
}
const manifest = { ...pkg, dependencies: { 'onnxruntime-node': pkg.dependencies['onnxruntime-node'] } };
// scripts would run in vsce (vscode:prepublish); bin names a launcher the package does not carry
delete manifest.scripts;
delete manifest.devDependencies;
delete manifest.bin;
fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(manifest, null, 2) + '\n');

// 3. onnxruntime-node, as it is required at run time. Its other dependencies (adm-zip,
// global-agent) serve only its install script, which is dropped, so `npm ls` (run by vsce to
// list what to pack) sees a complete tree.
const ortDest = path.join(stage, 'node_modules', 'onnxruntime-node');
const ortPkg = JSON.parse(fs.readFileSync(path.join(ortNode, 'package.json'), 'utf8'));
ortPkg.dependencies = { 'onnxruntime-common': ortPkg.dependencies['onnxruntime-common'] };
delete ortPkg.scripts;
delete ortPkg.devDependencies;
fs.mkdirSync(ortDest, { recursive: true });
fs.writeFileSync(path.join(ortDest, 'package.json'), JSON.stringify(ortPkg, null, 2) + '\n');
fs.cpSync(path.join(ortNode, 'dist'), path.join(ortDest, 'dist'), { recursive: true, filter: (src) => !/\.(d\.ts|map)$/.test(src) });
fs.cpSync(path.join(ortNode, binDir), path.join(ortDest, binDir), { recursive: true });
const commonDest = path.join(stage, 'node_modules', 'onnxruntime-common');
fs.mkdirSync(commonDest, { recursive: true });
fs.copyFileSync(path.join(ortCommon, 'package.json'), path.join(commonDest, 'package.json'));
fs.cpSync(path.join(ortCommon, 'dist', 'cjs'), path.join(commonDest, 'dist', 'cjs'), { recursive: true, filter: (src) => !/\.(d\.ts|map)$/.test(src) });

// 4. vsce, offline
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.rmSync(out, { force: true });
run(process.execPath, [vsce, 'package', '--target', TARGET, '--out', out, '--allow-missing-repository'], stage);

const mb = fs.statSync(out).size / 1024 / 1024;
const shown = path.relative(process.cwd(), out).startsWith('..') ? out : path.relative(process.cwd(), out);
console.log(`package: ${shown} (${mb.toFixed(1)} MB, ${TARGET})`);
