#!/usr/bin/env node
// Bundles the extension with esbuild's JS API:
//   src/extension/main.ts         → dist/extension.js     (extension host: node, cjs)
//   src/extension/engineWorker.ts → dist/engineWorker.js  (worker thread running the core)
//   src/cli/main.ts               → dist/cli.js           (the ffn-lens command)
//   webview/main.ts               → dist/webview.js       (browser, with the @vscode-elements components it imports)
// Usage: node scripts/build.mjs [--watch] [--production]
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

// Native or huge packages stay in node_modules and are required at run time: onnxruntime-node
// ships platform binaries, transformers.js pulls in sharp, and "vscode" exists only inside the host.
const nodeExternals = ['vscode', 'onnxruntime-node', '@huggingface/transformers', 'sharp'];

// Until the lead's src/core/index.ts exists, the worker is built against a stand-in whose every
// call fails with a clear message, so the rest of the extension can be built and tested.
const coreIndex = join(root, 'src', 'core', 'index.ts');
const missingCore = {
  name: 'missing-core',
  setup(build) {
    build.onResolve({ filter: /\/core\/index$/ }, (args) => {
      if (existsSync(coreIndex)) return undefined;
      return { path: 'missing-core', namespace: 'missing-core' };
    });
    build.onLoad({ filter: /.*/, namespace: 'missing-core' }, () => ({
      loader: 'js',
      contents: `const fail = () => { throw new Error('The FFN Lens core (src/core/index.ts) is not available in this build.'); };
export const loadModel = async () => fail();
export const inspect = async () => fail();
export const decodeValue = fail;
export const predictWithInterventions = async () => fail();
export const layerPredictions = async () => fail();`,
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
};

/** @type {esbuild.BuildOptions[]} */
const targets = [
  {
    ...common,
    entryPoints: { extension: 'src/extension/main.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
  },
  {
    ...common,
    entryPoints: { engineWorker: 'src/extension/engineWorker.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
    plugins: [missingCore],
  },
  {
    ...common,
    entryPoints: { cli: 'src/cli/main.ts' },
    outdir: 'dist',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: nodeExternals,
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
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
