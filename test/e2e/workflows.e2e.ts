// FFN Lens beyond plain text, in a real VS Code (code-server + Chromium) on gpt2-books: the hover
// in a Python file (listed in ffnLens.hover.languages) and not in JavaScript (unlisted); hover and
// Inspect Selection in a notebook cell; Compare Selections… against the core's compareTexts;
// Save Session… / Open Session… restoring the cell, the selected memory and the interventions, with
// a warning for a changed model hash; Export as HTML…; the Compare panel, and the inspect panel
// with its selected memory, restored after a window reload. The new
// panels are photographed in a light, a dark and a high-contrast theme (test/e2e/artifacts/workflows).
//
// Needs: bash test/e2e/setup.sh, node scripts/build.mjs, and shared/models/gpt2-books
// (FFN_LENS_SHARED, default ../shared). Skips with the reason when any is missing.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Locator } from 'playwright-core';
import { E2E } from './codeServer';
import { answerFileDialog, frameWith, shotOnFailure, type VsCodeSession } from './harness';
import { modelSuite } from './modelSuite';
import type * as Core from '../../src/core/index';

const A = 'The nurse said that he';
const B = 'The nurse said that she';
const CELL_LINE = '# The old lighthouse keeper climbed the stairs every evening.';
/** Themes by their label in "Preferences: Color Theme". */
const THEMES = [
  { name: 'light', label: 'Light Modern', cls: 'vs' },
  { name: 'dark', label: 'Dark Modern', cls: 'vs-dark' },
  { name: 'high-contrast', label: 'Dark High Contrast', cls: 'hc-black' },
] as const;

let vsc: VsCodeSession | undefined;
let core: typeof Core;
let model: Core.Model;
const skip = modelSuite(
  {
    name: 'workflows',
    workspace: path.join(E2E, 'workspace-code'),
    settings: (dir) => ({
      'ffnLens.model': dir,
      'ffnLens.hover.languages': ['plaintext', 'markdown', 'python'],
      'editor.hover.delay': 0,
      'workbench.colorTheme': 'Default Light Modern',
    }),
  },
  (s) => {
    ({ vsc, core, model } = s);
  },
);

/** Picks a colour theme as a person would, through "Preferences: Color Theme". */
async function withTheme(s: VsCodeSession, t: (typeof THEMES)[number]): Promise<void> {
  await s.runCommand('Preferences: Color Theme', { opensInput: true });
  const input = s.page.locator('.quick-input-widget .quick-input-box input');
  await input.fill(t.label);
  await s.page.locator('.quick-input-list .monaco-list-row.focused', { hasText: t.label }).first().waitFor();
  await s.page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
  await s.page.locator(`.monaco-workbench.${t.cls}`).waitFor({ timeout: 30_000 });
  // off the command center, whose tooltip would otherwise cover the panel in the screenshot
  await s.page.mouse.move(1, 1);
  // the webviews re-read the theme's variables asynchronously
  await new Promise((r) => setTimeout(r, 1500));
}

/** Hovers text until FFN Lens answers: the first hover starts loading the model and shows nothing. */
async function ffnHoverOn(s: VsCodeSession, text: string, timeoutMs = 180_000): Promise<Locator> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hover = await s.hoverText(text);
    if (await hover.waitFor({ timeout: 3000 }).then(() => true, () => false)) return hover;
    if (Date.now() > deadline) throw new Error(`no FFN Lens hover on "${text}" within ${timeoutMs} ms`);
  }
}

async function waitForFile(file: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} was not written`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return fs.readFileSync(file, 'utf8');
}

const notification = (s: VsCodeSession, text: string | RegExp): Locator => s.page.locator('.notifications-toasts .notification-toast', { hasText: text });

/** What the session test saved, for the tests after it: the file and the memory it selected. */
let saved: { file: string; memory: { layer: number; key: number } } | undefined;

/** The inspect panel's row of the selected memory among the cell's top memories. */
const selectedRow = (m: { layer: number; key: number }): string => `#details .memories .memory[data-memory="${m.layer}:${m.key}"][aria-current="true"]`;

test('the hover works in a Python file listed in ffnLens.hover.languages, not in an unlisted JavaScript one', { skip }, async () => {
  const s = vsc!;
  await shotOnFailure(s, 'open-python', () => s.openFile('example.py'));
  const hover = await shotOnFailure(s, 'python-hover', () => ffnHoverOn(s, 'captain'));
  const text = (await hover.textContent()) ?? '';
  assert.match(text, /token\s*captain \(id \d+/);
  assert.match(text, /Next token/);
  assert.match(text, /L\d+:\d+/);
  await s.screenshot('python-hover');

  await s.openFile('example.js');
  const none = await s.hoverText('captain');
  assert.equal(await none.waitFor({ timeout: 4000 }).then(() => true, () => false), false, 'no FFN Lens hover in JavaScript, which is not listed');
});

test('a notebook cell: the hover, and Inspect Selection on its first line', { skip }, async () => {
  const s = vsc!;
  await s.openFile('cells.ipynb', '.notebook-editor .cell-editor-container .monaco-editor .view-lines');
  const hover = await shotOnFailure(s, 'notebook-hover', () => ffnHoverOn(s, 'lighthouse', 60_000));
  assert.match((await hover.textContent()) ?? '', /Top memories/);
  await s.screenshot('notebook-hover');

  // select the cell's first line: click into it, then Home, Shift+End
  await s.page.mouse.move(1, 1);
  const box = (await s.page.evaluate(`(() => {
    const line = Array.from(document.querySelectorAll('.notebook-editor .cell-editor-container .view-line')).find((l) => l.textContent.replace(/\\u00a0/g, ' ').includes('lighthouse'));
    const b = line.getBoundingClientRect();
    return { x: b.x + 20, y: b.y + b.height / 2 };
  })()`)) as { x: number; y: number };
  await s.page.mouse.click(box.x, box.y);
  await s.page.keyboard.press('Home');
  await s.page.keyboard.press('Shift+End');
  // (a notebook's status bar shows the cell, not the selection: the heatmap's width checks it)
  await s.runCommand('FFN Lens: Inspect Selection');
  const n = model.tokenizer.encodeWithOffsets(CELL_LINE).length;
  // a notebook has webviews of its own (its output renderer): find the panel's frame by content
  const panel = await shotOnFailure(s, 'notebook-inspect', () => frameWith(s, `#heatmap[data-tokens="${n}"]`, 60_000));
  assert.equal(await panel.locator('#heatmap tbody tr').count(), model.info.nLayers);
  await s.screenshot('notebook-inspect');
  await s.runCommand('View: Close All Editors');
});

test('Compare Selections…: per layer the memories compareTexts finds, both predictions, a strict CSP', { skip }, async () => {
  const s = vsc!;
  await s.openFile('pair.txt');
  await s.selectText(A);
  await s.runCommand('FFN Lens: Compare Selections…', { opensInput: true });
  const input = s.page.locator('.quick-input-widget .quick-input-box input');
  assert.equal(await input.inputValue(), A, 'the input box starts from the selection');
  await input.fill(B);
  await s.page.keyboard.press('Enter');
  const compareFrame = await shotOnFailure(s, 'compare', () => frameWith(s, 'h1:has-text("FFN Lens: compare")', 120_000));

  const want = await core.compareTexts(model, A, B, { memories: 8 });
  const sections = compareFrame.locator('h2', { hasText: /^Layer \d+$/ });
  assert.equal(await sections.count(), model.info.nLayers);
  const firstKeys = await compareFrame.locator('h2 + table tbody tr:first-child td:first-child code').allTextContents();
  assert.deepEqual(firstKeys, want.layers.map((l) => `L${l.layer}:${l.memories[0].key}`));
  const predA = await compareFrame.locator('table').first().locator('tbody tr td:nth-child(2) code').allTextContents();
  assert.equal(predA.length, want.a.predictions.length);
  const csp = (await compareFrame.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')) ?? '';
  assert.match(csp, /default-src 'none'; style-src 'nonce-[A-Za-z0-9+/=]+'$/);
  assert.equal(await compareFrame.locator('script').count(), 0);
  for (const t of THEMES) {
    await withTheme(s, t);
    await s.screenshot(`compare-${t.name}`);
  }
  await withTheme(s, THEMES[0]);
});

test('Save Session… writes the finding; Open Session… restores its cell, selected memory and interventions', { skip }, async () => {
  const s = vsc!;
  await s.runCommand('View: Close All Editors');
  await s.openFile('pair.txt');
  await s.selectText(A);
  await s.runCommand('FFN Lens: Inspect Selection');
  const wv = s.webview();
  await wv.locator('#heatmap').waitFor({ timeout: 60_000 });
  await wv.locator('td.cell[data-layer="2"][data-pos="4"]').click();
  const key = Number(await wv.locator('#details .memory').first().getAttribute('data-key'));
  await wv.locator(`vscode-button[data-action="off"][data-key="${key}"]`).click();
  await wv.locator('#prediction-after .chip').first().waitFor();
  // select another memory of the cell with the keyboard: its key is a toggle button
  const memory = { layer: 2, key: Number(await wv.locator('#details .memories .memory').nth(1).getAttribute('data-key')) };
  const toggle = wv.locator(`#details .memories .memory[data-key="${memory.key}"] .memory-select`);
  await toggle.focus();
  await s.page.keyboard.press('Enter');
  await wv.locator(selectedRow(memory)).waitFor();
  assert.equal(await toggle.getAttribute('aria-pressed'), 'true');
  assert.equal(await wv.locator('#selected-memory code').textContent(), `L2:${memory.key}`);
  assert.equal(await wv.locator('[data-memory][aria-current="true"]').count(), 1, 'one memory is marked selected');

  const file = path.join(s.server.workspace, 'nurse.ffnlens.json');
  await s.runCommand('FFN Lens: Save Session…', { opensInput: true });
  await shotOnFailure(s, 'session-dialog', () => answerFileDialog(s, file));
  const session = JSON.parse(await waitForFile(file));
  assert.equal(session.format, 'ffn-lens-session');
  assert.equal(session.text, A);
  assert.deepEqual(session.model.hash, model.info.hash);
  assert.deepEqual(session.place.selected, { layer: 2, position: 4 });
  assert.deepEqual(session.place.interventions, [{ layer: 2, key, mode: 'set', value: 0 }]);
  assert.deepEqual(session.place.memory, memory);
  saved = { file, memory };

  await s.runCommand('View: Close All Editors');
  await s.runCommand('FFN Lens: Open Session…', { opensInput: true });
  await shotOnFailure(s, 'open-dialog', () => answerFileDialog(s, file));
  const restored = s.webview();
  await restored.locator('#details h2', { hasText: 'Layer 2 ' }).filter({ hasText: 'position 4' }).waitFor({ timeout: 60_000 });
  await restored.locator(`vscode-button[data-action="off"][data-key="${key}"][aria-pressed="true"]`).waitFor();
  await restored.locator('#prediction-after .chip').first().waitFor();
  // the selected memory, marked, with its details open (value tokens decoded)
  await restored.locator(`${selectedRow(memory)} .value-tokens.top .chip`).first().waitFor();
  assert.equal(await restored.locator(`${selectedRow(memory)} .memory-select`).getAttribute('aria-pressed'), 'true');
  assert.equal(await restored.locator('#selected-memory code').textContent(), `L2:${memory.key}`);
  for (const t of THEMES) {
    await withTheme(s, t);
    await s.screenshot(`session-${t.name}`);
  }
  await withTheme(s, THEMES[0]);

  // the same finding saved with another checkpoint: it opens, with a warning
  const changed = path.join(s.server.workspace, 'changed.ffnlens.json');
  fs.writeFileSync(changed, JSON.stringify({ ...session, model: { ...session.model, hash: 'deadbeef0000' } }));
  await s.runCommand('Notifications: Clear All Notifications');
  await s.runCommand('FFN Lens: Open Session…', { opensInput: true });
  await answerFileDialog(s, changed);
  await notification(s, /not the one this session was saved with/).first().waitFor({ timeout: 60_000 });
  await s.screenshot('session-hash-warning');

  // a file that is not a session: a clear error, nothing else
  const bogus = path.join(s.server.workspace, 'bogus.ffnlens.json');
  fs.writeFileSync(bogus, '{"format":"something-else"}');
  await s.runCommand('FFN Lens: Open Session…', { opensInput: true });
  await answerFileDialog(s, bogus);
  await notification(s, /cannot open bogus\.ffnlens\.json as a session: it is not an FFN Lens session/).first().waitFor({ timeout: 30_000 });
});

test('Export as HTML… writes the inspect view as a page without scripts', { skip }, async () => {
  const s = vsc!;
  await s.page.locator('.tab', { hasText: 'FFN Lens:' }).first().click();
  const out = path.join(s.server.workspace, 'nurse.html');
  await s.runCommand('FFN Lens: Export as HTML…', { opensInput: true });
  await shotOnFailure(s, 'export-dialog', () => answerFileDialog(s, out));
  const html = await waitForFile(out, 60_000);
  assert.match(html, /^<!DOCTYPE html>/);
  assert.ok(!/<script/i.test(html), 'no script');
  assert.match(html, /<h2>Layer 2 · token <code>/);
  assert.match(html, /after 1 intervention/);
  assert.match(html, new RegExp(`<h3>Selected memory</h3><table id="selected-memory"><tbody><tr class="selected"><td><code>L2:${saved!.memory.key}</code>`));
  assert.match(html, new RegExp(`<tr class="selected"><td><code>L2:${saved!.memory.key}</code></td><td class="num">`), 'marked among the top memories');
});

test('the Compare panel comes back after a window reload', { skip }, async () => {
  const s = vsc!;
  await s.runCommand('View: Close All Editors');
  await s.openFile('pair.txt');
  await s.selectText(A);
  await s.runCommand('FFN Lens: Compare Selections…', { opensInput: true });
  await s.page.locator('.quick-input-widget .quick-input-box input').fill(B);
  await s.page.keyboard.press('Enter');
  await frameWith(s, 'h1:has-text("FFN Lens: compare")', 120_000);
  await s.runCommand('Developer: Reload Window');
  await s.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  const again = await shotOnFailure(s, 'compare-revived', () => frameWith(s, 'h1:has-text("FFN Lens: compare")', 60_000));
  assert.equal(await again.locator('h2', { hasText: /^Layer \d+$/ }).count(), model.info.nLayers);
  await s.screenshot('compare-revived');
});

test('the inspect panel keeps its selected memory over a window reload', { skip }, async () => {
  const s = vsc!;
  const { file, memory } = saved!;
  await s.runCommand('View: Close All Editors');
  await s.runCommand('FFN Lens: Open Session…', { opensInput: true });
  await answerFileDialog(s, file);
  await frameWith(s, selectedRow(memory), 60_000);
  await s.runCommand('Developer: Reload Window');
  await s.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The serializer revives the panel from the webview's own state; the reloaded extension decodes
  // the selected memory's value again.
  const revived = await shotOnFailure(s, 'memory-revived', () => frameWith(s, selectedRow(memory), 60_000));
  await revived.locator(`${selectedRow(memory)} .value-tokens.top .chip`).first().waitFor({ timeout: 60_000 });
  assert.equal(await revived.locator('#selected-memory code').textContent(), `L2:${memory.key}`);
  assert.equal(await revived.locator(`${selectedRow(memory)} .memory-select`).getAttribute('aria-pressed'), 'true');
  await s.screenshot('memory-revived');
});
