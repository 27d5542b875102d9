/**
 * A run writes only where it was told: the CLI bundle (inspect, index) and the
 * extension's engine worker, run as users run them (plain node, no tsx), with HOME, the
 * temp folder, the XDG folders and the working directory pointed at fresh empty folders.
 * Afterwards those stay empty (no onnxruntime telemetry database or device id, no mat-debug log) and every new
 * file lies under --cache or --out.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { writePlantedModel } from '../fixtures/planted';
import { serveHub } from '../fixtures/hubServer';
import { tempDir } from '../support';

const REPO = path.resolve(__dirname, '..', '..');
// inside the repository (an ignored folder), so onnxruntime-node resolves from node_modules
const BUNDLES = path.join(REPO, '.cache', 'test-writes');

// drives the bundled engine worker through the extension's own client (EngineClient)
const DRIVER = `
import { EngineClient } from '../../src/extension/engine';
const [worker, spec, cacheDir] = process.argv.slice(2);
const client = new EngineClient(worker, (l) => console.error(l));
(async () => {
  await client.request('load', { spec, cacheDir, threads: 1 });
  await client.request('inspect', { text: 'red blue red', topK: 2, threshold: 0 });
  await client.stop();
})().catch((e) => { console.error(e); process.exit(1); });
`;

before(async () => {
  fs.mkdirSync(BUNDLES, { recursive: true });
  fs.writeFileSync(path.join(BUNDLES, 'driver.ts'), DRIVER);
  await esbuild.build({
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'warning',
    external: ['onnxruntime-node', 'onnxruntime-common', 'sharp', 'vscode'],
    entryPoints: { cli: path.join(REPO, 'src', 'cli', 'main.ts'), engineWorker: path.join(REPO, 'src', 'extension', 'engineWorker.ts'), driver: path.join(BUNDLES, 'driver.ts') },
    outdir: BUNDLES,
  });
});

/** Every file and folder under `dir`, relative to it. */
const listing = (dir: string) => fs.readdirSync(dir, { recursive: true }).map(String).sort();

/** Runs a bundle with HOME, TMPDIR and XDG_* in `root`; asserts they stay empty. */
async function runConfined(root: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<void> {
  // the working directory too: nothing may land in ./models, ./.cache and the like
  const homes = { HOME: 'home', TMPDIR: 'tmp', XDG_CACHE_HOME: 'xdg-cache', XDG_CONFIG_HOME: 'xdg-config', XDG_DATA_HOME: 'xdg-data', XDG_STATE_HOME: 'xdg-state', XDG_RUNTIME_DIR: 'xdg-runtime', PWD: 'cwd' };
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...extraEnv };
  for (const [name, sub] of Object.entries(homes)) {
    env[name] = path.join(root, sub);
    fs.mkdirSync(env[name]!, { mode: 0o700, recursive: true });
  }
  // asynchronously: the test process may be serving a hub to the child
  const child = spawn(process.execPath, args, { env, cwd: env.PWD });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(status, 0, `${args.join(' ')}\n${output}`);
  for (const sub of Object.values(homes)) assert.deepEqual(listing(path.join(root, sub)), [], `${sub} stays empty`);
}

test('the CLI writes only to --cache and --out: no telemetry, no temp files', { timeout: 180_000 }, async () => {
  const root = tempDir();
  const planted = writePlantedModel({ words: ['red', 'blue'], plants: [{ layer: 0, key: 1, trigger: 'red', promotes: 'blue' }] }, path.join(root, 'model'));
  const corpus = path.join(root, 'corpus.txt');
  fs.writeFileSync(corpus, 'red blue red\n\nblue red blue\n');
  const before = new Set(listing(root));
  const cli = path.join(BUNDLES, 'cli.js');
  const cache = path.join(root, 'cache');
  const out = path.join(root, 'out');
  await runConfined(root, [cli, 'inspect', '--model', planted.dir, '--cache', cache, '--text', 'red blue', '-q']);
  await runConfined(path.join(root, 'again'), [cli, 'index', '--model', planted.dir, '--cache', cache, '--corpus', corpus, '--out', out, '-q']);
  // a hub download (transformers.js fetches config and tokenizer): into the cache only
  const hub = await serveHub('test-org/planted', planted.dir);
  try {
    await runConfined(path.join(root, 'hub'), [cli, 'inspect', '--model', 'test-org/planted', '--cache', cache, '--text', 'red blue', '-q'], { HF_ENDPOINT: hub.url });
  } finally {
    await hub.close();
  }
  assert.ok(hub.requests.some((r) => r.endsWith('/model.safetensors')), 'the model came from the hub');
  const created = listing(root).filter((f) => !before.has(f));
  const allowed = ['cache', 'out', 'again', 'hub', ...['home', 'tmp', 'xdg-cache', 'xdg-config', 'xdg-data', 'xdg-state', 'xdg-runtime', 'cwd']];
  assert.deepEqual(created.filter((f) => !allowed.includes(f.split(path.sep)[0])), []);
  assert.ok(created.some((f) => f.startsWith(`cache${path.sep}`)) && created.includes(path.join('out', 'triggers.idx')), 'the cache and the index were written');
});

test('the extension\'s engine worker writes only to its cache: no telemetry, no temp files', { timeout: 180_000 }, async () => {
  const root = tempDir();
  const planted = writePlantedModel({ words: ['red', 'blue'], plants: [] }, path.join(root, 'model'));
  const before = new Set(listing(root));
  await runConfined(root, [path.join(BUNDLES, 'driver.js'), path.join(BUNDLES, 'engineWorker.js'), planted.dir, path.join(root, 'cache')]);
  const created = listing(root).filter((f) => !before.has(f) && !['home', 'tmp', 'cwd'].includes(f) && !f.startsWith('xdg-'));
  assert.ok(created.every((f) => f.split(path.sep)[0] === 'cache'), created.join(', '));
});
