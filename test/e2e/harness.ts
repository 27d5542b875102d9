// Drives VS Code (code-server) in Debian's Chromium with playwright-core, as a person would: the
// command palette, the keyboard, the mouse. Helpers cover what FFN Lens' tests need; everything
// the session started is stopped by close(), which tests call from a finally/after hook.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type FrameLocator, type Locator, type Page } from 'playwright-core';
import { E2E, REPO, missingInstall, startCodeServer, type CodeServer, type CodeServerOptions } from './codeServer';

export const ARTIFACTS = path.join(E2E, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const isMac = os.platform() === 'darwin';
const mod = isMac ? 'Meta' : 'Control';

/** The gpt2-books model from shared/, or why it is not there. */
export function sharedModel(): { dir: string } | { skip: string } {
  const shared = path.resolve(REPO, process.env.FFN_LENS_SHARED ?? '../shared');
  const dir = path.join(shared, 'models', 'gpt2-books');
  if (fs.existsSync(path.join(dir, 'config.json'))) return { dir };
  return { skip: `model not found at ${dir} (set FFN_LENS_SHARED to the shared/ folder)` };
}

/** Why e2e tests cannot run here, or undefined when they can. */
export function e2eUnavailable(): string | undefined {
  const missing = missingInstall();
  if (missing) return missing;
  if (!fs.existsSync(CHROMIUM)) return `no Chromium at ${CHROMIUM}: run \`bash test/e2e/setup.sh\``;
  return undefined;
}

export interface SessionOptions extends CodeServerOptions {
  /** Artifact sub-folder for this test's screenshots and logs. */
  name: string;
}

/**
 * Runs in the page: the bounding box of the first occurrence of needle in the editor's rendered
 * lines. Kept as source text because tsx's transform would add helpers (__name) to a function
 * that page.evaluate then cannot find. Monaco may split a line into several spans and render
 * spaces as U+00A0, so it searches each line's joined text and maps the match back to nodes.
 * Notebook cells' editors are searched too (they are not inside an .editor-instance).
 */
const FIND_TEXT_BOX = `function (needle) {
  const lines = document.querySelectorAll('.editor-instance .monaco-editor .view-lines .view-line, .notebook-editor .cell-editor-container .view-lines .view-line');
  for (const line of Array.from(lines)) {
    const nodes = [];
    const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
    const joined = nodes.map((n) => n.data).join('').replace(/\\u00a0/g, ' ');
    const i = joined.indexOf(needle);
    if (i < 0) continue;
    function at(offset) {
      for (const n of nodes) {
        if (offset <= n.data.length) return [n, offset];
        offset -= n.data.length;
      }
      const last = nodes[nodes.length - 1];
      return [last, last.data.length];
    }
    const r = document.createRange();
    r.setStart(...at(i));
    r.setEnd(...at(i + needle.length));
    const b = r.getBoundingClientRect();
    return { x: b.x, y: b.y, width: b.width, height: b.height };
  }
  return undefined;
}`;

export class VsCodeSession {
  readonly artifacts: string;

  private constructor(
    readonly server: CodeServer,
    private readonly browser: Browser,
    readonly page: Page,
    artifacts: string,
  ) {
    this.artifacts = artifacts;
  }

  static async launch(opts: SessionOptions): Promise<VsCodeSession> {
    const artifacts = path.join(ARTIFACTS, opts.name);
    fs.rmSync(artifacts, { recursive: true, force: true });
    fs.mkdirSync(artifacts, { recursive: true });
    const server = await startCodeServer({ ...opts, logFile: path.join(artifacts, 'code-server.log') });
    let browser: Browser | undefined;
    try {
      // playwright's launch uses a fresh temporary profile and kills the browser's process group
      // when closed or when this process exits.
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
      });
      const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      const session = new VsCodeSession(server, browser, page, artifacts);
      await page.goto(server.url);
      await page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
      // The explorer shows the workspace once the file service is up: then commands can run.
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
      return session;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await server.stop();
      throw err;
    }
  }

  /**
   * Opens Quick Open with text typed in ("file name", or ">command" for the palette). It clicks
   * the title bar's command center rather than pressing a key, because a key pressed while a
   * webview has focus does not always reach the workbench.
   */
  private async quickInput(text: string): Promise<Locator> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    const center = this.page.locator('.command-center .command-center-center').first();
    if (await center.isVisible()) await center.click();
    else await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill(text);
    // The list filters asynchronously; rows shown before the text arrived must not be picked.
    await this.page.waitForFunction(
      ([sel, want]) => (document.querySelector(sel) as HTMLInputElement | null)?.value === want,
      ['.quick-input-widget .quick-input-box input', text] as const,
    );
    return input;
  }

  /**
   * Opens a workspace file through Quick Open in the first editor group and waits for its editor
   * (`ready`: what shows it is open; a notebook's is its cells' editors).
   */
  async openFile(name: string, ready?: string): Promise<void> {
    await this.runCommand('View: Focus First Editor Group');
    // Quick Open's file list can lag behind a fresh window on a busy machine: one more try
    await this.openFileHere(name, ready).catch(async () => {
      await this.page.keyboard.press('Escape');
      await this.openFileHere(name, ready);
    });
  }

  /** Opens a workspace file through Quick Open in the active editor group. */
  async openFileHere(name: string, ready = '.editor-instance .monaco-editor .view-lines'): Promise<void> {
    const input = await this.quickInput(name);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: name }) }).first();
    await row.click();
    await input.waitFor({ state: 'hidden' });
    await this.page.locator(`.tab.active[aria-label^="${name}"], .tab.active:has-text("${name}")`).first().waitFor();
    await this.page.locator(ready).first().waitFor();
  }

  /**
   * Selects the first occurrence of text in the active editor with the Find widget: searching
   * moves the selection to the match and Escape closes the widget leaving it selected.
   */
  async selectText(text: string): Promise<void> {
    await this.page.locator('.editor-instance .monaco-editor textarea').first().focus();
    await this.page.keyboard.press(`${mod}+Home`);
    await this.page.keyboard.press(`${mod}+F`);
    const find = this.page.locator('.editor-widget.find-widget textarea, .editor-widget.find-widget input').first();
    await find.waitFor({ state: 'visible' });
    await find.fill(text);
    await this.page.locator('.find-widget .matchesCount', { hasText: /^1 of|of \d+/ }).first().waitFor();
    await this.page.keyboard.press('Escape');
    // The status bar counts selected characters: proof the selection is exactly the text.
    await this.page.locator('.statusbar-item', { hasText: `(${text.length} selected)` }).first().waitFor();
  }

  /**
   * Runs a command by its palette title, e.g. "FFN Lens: Inspect Selection"; `opensInput` when the
   * command itself opens a quick pick or file dialog, which then stays open. Returns the time
   * (performance.now() of this process) at which the command was invoked, for latency figures.
   */
  async runCommand(title: string, opts: { opensInput?: boolean } = {}): Promise<number> {
    const input = await this.quickInput(`>${title}`);
    const row = this.page.locator('.quick-input-list .monaco-list-row', { has: this.page.locator('.label-name', { hasText: title }) }).first();
    await row.waitFor();
    // Enter runs the focused row; when a fuzzy match outranks the exact title, click the row instead.
    const focused = await this.page.locator('.quick-input-list .monaco-list-row.focused .label-name').first().textContent();
    const invokedAt = performance.now();
    if (focused?.trim() === title) await this.page.keyboard.press('Enter');
    else await row.click();
    if (opts.opensInput) {
      // The command reuses the quick input (a quick pick, or code-server's file dialog): wait
      // until it no longer is the command palette.
      await this.page.waitForFunction(
        (sel) => {
          const el = document.querySelector(sel) as HTMLInputElement | null;
          return !!el && el.offsetParent !== null && !el.value.startsWith('>');
        },
        '.quick-input-widget .quick-input-box input',
      );
    } else {
      await input.waitFor({ state: 'hidden' });
    }
    return invokedAt;
  }

  /**
   * The content frame of a webview panel: VS Code hosts it in iframe.webview.ready, whose
   * document holds the extension's page in iframe#active-frame.
   */
  webview(nth = 0): FrameLocator {
    return this.page.frameLocator('iframe.webview.ready').nth(nth).frameLocator('iframe#active-frame');
  }

  /** Moves the mouse onto the first on-screen occurrence of text in the active editor. */
  async hoverText(text: string): Promise<Locator> {
    type Box = { x: number; y: number; width: number; height: number } | undefined;
    const box = (await this.page.evaluate(`(${FIND_TEXT_BOX})(${JSON.stringify(text)})`)) as Box;
    if (!box) {
      const shown = await this.page.locator('.editor-instance .monaco-editor .view-lines .view-line').allTextContents();
      throw new Error(`"${text}" is not visible in the editor; its lines: ${JSON.stringify(shown.map((l) => l.slice(0, 60)))}`);
    }
    // Move away first so the same position re-triggers the hover.
    await this.page.mouse.move(1, 1);
    await this.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 2 });
    return this.page.locator('.monaco-hover:not(.hidden)').filter({ hasText: 'FFN Lens' });
  }

  async screenshot(name: string): Promise<string> {
    const file = path.join(this.artifacts, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The extension's "FFN Lens" log channel as written so far (empty before activation). */
  extensionLog(): string {
    const file = findFiles(path.join(this.server.userDataDir, 'logs')).find((f) => path.basename(f) === '1-FFN Lens.log' || /FFN Lens\.log$/.test(f));
    return file ? fs.readFileSync(file, 'utf8') : '';
  }

  /** Stops the browser and code-server; copies the extension's log into the artifacts first. */
  async close(): Promise<void> {
    try {
      copyExtensionLogs(this.server.userDataDir, this.artifacts);
    } catch {
      // logs are a convenience
    }
    await this.browser.close().catch(() => undefined);
    await this.server.stop();
  }
}

/**
 * The frame of the webview whose document has selector (panels do not have a fixed order). Fails
 * early when FFN Lens shows an error or warning notification instead.
 */
export async function frameWith(s: VsCodeSession, selector: string, timeoutMs: number): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  const problem = s.page.locator('.notifications-toasts .notification-toast:has(.codicon-error, .codicon-warning)', { hasText: 'FFN Lens' });
  for (;;) {
    for (const f of s.page.frames()) {
      if (await f.locator(selector).count().catch(() => 0)) return f;
    }
    if (await problem.count()) throw new Error(`instead of ${selector}: ${await problem.first().textContent()}`);
    if (Date.now() > deadline) throw new Error(`no webview shows ${selector} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Types a path into VS Code's own file dialog (code-server has no native one) and accepts it.
 * The dialog refreshes its list as the value changes and may ignore Enter meanwhile, so Enter is
 * pressed again until the dialog has taken the path.
 */
export async function answerFileDialog(s: VsCodeSession, file: string): Promise<void> {
  const sel = '.quick-input-widget .quick-input-box input';
  const input = s.page.locator(sel);
  await input.waitFor({ state: 'visible' });
  // The dialog sets its starting folder (or default file) once it has read the disk, which can
  // overwrite what was typed before: type until the path stays.
  for (let i = 0; ; i++) {
    await input.fill(file);
    await new Promise((r) => setTimeout(r, 400));
    if ((await input.inputValue()) === file) break;
    if (i === 10) throw new Error(`the file dialog keeps replacing ${file} with ${await input.inputValue()}`);
  }
  if (fs.existsSync(file)) await s.page.locator('.quick-input-list .monaco-list-row', { hasText: path.basename(file) }).first().waitFor();
  for (let i = 0; i < 10; i++) {
    await s.page.keyboard.press('Enter');
    const taken = await s.page
      .waitForFunction(
        ([q, want]) => {
          const el = document.querySelector(q) as HTMLInputElement | null;
          return !el || el.offsetParent === null || el.value !== want;
        },
        [sel, file] as const,
        { timeout: 2000 },
      )
      .then(() => true, () => false);
    if (taken) return;
  }
  throw new Error(`the file dialog did not take ${file}`);
}

/** Runs fn; on failure saves a screenshot named after the step first. */
export async function shotOnFailure<T>(s: VsCodeSession, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await s.screenshot(`failed-${name}`).catch(() => undefined);
    throw err;
  }
}

function findFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? findFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

function copyExtensionLogs(userData: string, artifacts: string): void {
  for (const f of findFiles(path.join(userData, 'logs'))) {
    const base = path.basename(f);
    if (/FFN Lens|exthost|remoteexthost/i.test(base)) fs.copyFileSync(f, path.join(artifacts, base.replace(/\s+/g, '-')));
  }
}

/** Closes the session and checks that it left no process behind (each suite's after()). */
export async function closeSession(vsc: VsCodeSession): Promise<void> {
  const tmp = vsc.server.tmp;
  await vsc.close();
  assert.deepEqual(processesUsing(tmp), [], 'processes left behind');
}

/** Processes whose command line mentions dir: must be empty after close(). */
export function processesUsing(dir: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(dir)) found.push(`${pid} ${cmd.slice(0, 160)}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
