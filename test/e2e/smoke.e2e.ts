// The harness works end to end: code-server starts with FFN Lens installed from dist/, Chromium
// drives the command palette, a trivial extension command runs, and nothing is left running.

import { after, before, test } from 'node:test';
import { VsCodeSession, closeSession, e2eUnavailable } from './harness';

const skip = e2eUnavailable();
let vsc: VsCodeSession | undefined;

before(async () => {
  if (skip) return;
  vsc = await VsCodeSession.launch({ name: 'smoke' });
});

after(async () => {
  if (vsc) await closeSession(vsc);
});

test('FFN Lens: Show Log runs from the command palette', { skip }, async () => {
  const s = vsc!;
  await s.openFile('sample.txt');
  await s.runCommand('FFN Lens: Show Log');
  // The log channel is shown and its first line is the activation message.
  const output = s.page.locator('.part.panel .output-view, .part.panel [id="workbench.panel.output"]').first();
  await output.waitFor({ state: 'visible' });
  await s.page.locator('.part.panel .view-lines', { hasText: 'activated (VS Code' }).first().waitFor();
  // The status bar item is up and names the configured model.
  await s.page.locator('.statusbar-item', { hasText: 'FFN Lens: gpt2' }).first().waitFor();
  await s.screenshot('show-log');
});

test('selecting text with the Find widget selects exactly that text', { skip }, async () => {
  const s = vsc!;
  await s.openFile('sample.txt');
  // selectText itself waits for the status bar to count exactly the text's characters.
  await s.selectText('She opened the letter');
  await s.screenshot('selection');
});
