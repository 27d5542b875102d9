#!/usr/bin/env node
// Bundles the extension with esbuild's JS API:
//   src/extension/main.ts         → dist/extension.js     (extension host: node, cjs)
//   src/extension/engineWorker.ts → dist/engineWorker.js  (worker thread running the core)
//   src/cli/main.ts               → dist/cli.js           (the ffn-lens command)
//   webview/main.ts               → dist/webview.js       (browser, with the @vscode-elements components it imports)
// Usage: node scripts/build.mjs [--watch] [--production] [--outdir DIR]
import * as esbuild from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
// scripts/package.mjs builds straight into its staging folder, leaving dist/ alone.
const outdirArg = process.argv.indexOf('--outdir');
const outdir = outdirArg >= 0 ? process.argv[outdirArg + 1] : 'dist';
if (!outdir || outdir.startsWith('--')) throw new Error('--outdir needs a folder');

// Only onnxruntime-node stays in node_modules, required at run time: it ships native binaries
// (and onnxruntime-common, its JS half, must be the copy it loads). "vscode" exists only inside
// the host. Everything else is bundled, @huggingface/transformers included: its node build
// already inlines the onnxruntime-web JS it needs and loads onnxruntime-node with a runtime
// require, so the packaged extension needs neither onnxruntime-web nor sharp (see noSharp).
const nodeExternals = ['vscode', 'onnxruntime-node', 'onnxruntime-common'];

// transformers.js imports sharp at load time, only to decode images, and throws if the import
// is falsy. FFN Lens downloads configs, tokenizers and weights with it and never images, so
// sharp (a native package with per-platform binaries) is replaced by a stub that says so if
// it is ever called.
const noSharp = {
  name: 'no-sharp',
  setup(build) {
    build.onResolve({ filter: /^sharp$/ }, () => ({ path: 'sharp', namespace: 'no-sharp' }));
    build.onLoad({ filter: /.*/, namespace: 'no-sharp' }, () => ({
      loader: 'js',
      contents: `export default function sharp() {
  throw new Error('FFN Lens does not include sharp: transformers.js image processing is not available.');
}`,
    }));
  },
};

/** @type {esbuild.BuildOptions} */
const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: watch ? 'info' : 'warning',
  absWorkingDir: root,
  // transformers.js's node build reads import.meta.url only to guess a default cache folder
  // (FFN Lens always sets env.cacheDir) and in onnxruntime-web code paths it never runs here;
  // its own CommonJS build leaves import.meta empty the same way.
  logOverride: { 'empty-import-meta': 'silent' },
};

/** A Node bundle (CommonJS, as VS Code's extension host and worker threads load it). */
const nodeBundle = (name, entry) => ({
  ...common,
  entryPoints: { [name]: entry },
  outdir,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: nodeExternals,
  plugins: [noSharp],
});

/** @type {esbuild.BuildOptions[]} */
const targets = [
  nodeBundle('extension', 'src/extension/main.ts'),
  nodeBundle('engineWorker', 'src/extension/engineWorker.ts'),
  nodeBundle('cli', 'src/cli/main.ts'),
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    outdir,
    platform: 'browser',
    format: 'iife',
    // VS Code's webviews are recent Chromium (Electron or, in code-server, the user's browser).
    target: 'chrome114',
  },
];

if (watch) {
  const contexts = await Promise.all(targets.map((t) => esbuild.context(t)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(targets.map((t) => esbuild.build(t)));
}
