// FFN Lens in a real VS Code (code-server + Chromium) on gpt2-books: Inspect Selection, the
// heatmap's shape, a cell's memories and value tokens, an intervention, the logit lens, the hover,
// and the latencies the issue budgets. Expected values come from the core, run in this process.
//
// Needs: bash test/e2e/setup.sh, node scripts/build.mjs, and shared/models/gpt2-books
// (FFN_LENS_SHARED, default ../shared). Skips with the reason when any is missing.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import type { VsCodeSession } from './harness';
import { modelSuite } from './modelSuite';
import type * as Core from '../../src/core/index';

const SENTENCE = 'She opened the letter and read it twice before she understood what her brother had done.';
const LONG_START = 'The library stood at the end of a narrow street';
const HOVER_WORD = 'captain';
const LAYER = 5;
const TOPK = 10;
const THRESHOLD = 1;
/** Budgets from the issue; asserted only with FFN_LENS_E2E_STRICT=1 (a shared 2-core machine is noisy). */
const BUDGET = { inspect128Ms: 300, hoverWarmMs: 150 };
const strict = process.env.FFN_LENS_E2E_STRICT === '1';

let vsc: VsCodeSession | undefined;
let core: typeof Core;
let model: Core.Model;
const skip = modelSuite(
  {
    name: 'inspect',
    // editor.hover.delay 0 is the lowest VS Code accepts: the end-to-end hover figure is then the
    // extension's and the workbench's, not a configured wait.
    settings: (dir) => ({ 'ffnLens.model': dir, 'ffnLens.topK': TOPK, 'ffnLens.threshold': THRESHOLD, 'editor.hover.delay': 0 }),
  },
  (s) => {
    ({ vsc, core, model } = s);
  },
);

function tokenIndex(text: string, token: string): number {
  const i = model.tokenizer.encodeWithOffsets(text).findIndex((t) => t.text === token);
  assert.ok(i >= 0, `no token ${JSON.stringify(token)} in ${JSON.stringify(text)}`);
  return i;
}

async function chipIds(list: import('playwright-core').Locator): Promise<{ id: number; prob: number }[]> {
  const chips = await list.locator('.chip').all();
  return Promise.all(chips.map(async (c) => ({ id: Number(await c.getAttribute('data-id')), prob: Number(await c.getAttribute('data-prob')) })));
}

test('Inspect Selection: one heatmap row per layer, one column per token', { skip }, async () => {
  const s = vsc!;
  await s.openFile('sample.txt');
  await s.selectText(SENTENCE);
  const t0 = await s.runCommand('FFN Lens: Inspect Selection');
  const tokens = model.tokenizer.encodeWithOffsets(SENTENCE);
  const heat = s.webview().locator(`#heatmap[data-tokens="${tokens.length}"]`);
  await heat.waitFor({ timeout: 180_000 });
  console.log(`# latency: selection → heatmap, cold (includes the model load): ${(performance.now() - t0).toFixed(0)} ms`);

  const rows = heat.locator('tbody tr');
  assert.equal(await rows.count(), model.info.nLayers);
  for (let r = 0; r < model.info.nLayers; r++) assert.equal(await rows.nth(r).locator('td.cell').count(), tokens.length);
  const heads = await heat.locator('thead th.tok-head').all();
  assert.equal(heads.length, tokens.length);
  const titles = await Promise.all(heads.map((th) => th.getAttribute('title')));
  titles.forEach((t, i) => assert.ok(t?.startsWith(JSON.stringify(tokens[i].text)), `column ${i}: ${t}`));
  await s.screenshot('heatmap');
});

test('the colour metric switches between top coefficient and active count', { skip }, async () => {
  const wv = vsc!.webview();
  const legend = wv.locator('.legend');
  assert.match((await legend.getAttribute('aria-label')) ?? '', /top coefficient/);
  await wv.locator('#metric').click();
  await wv.locator('#metric').getByRole('option', { name: 'memories above threshold' }).click();
  await wv.locator('.legend[aria-label*="memories with coefficient"]').waitFor();
  await wv.locator('#metric').click();
  await wv.locator('#metric').getByRole('option', { name: 'top coefficient' }).click();
  await wv.locator('.legend[aria-label*="top coefficient"]').waitFor();
});

test('a cell shows its top memories with the value tokens decodeValue returns', { skip }, async () => {
  const s = vsc!;
  const pos = tokenIndex(SENTENCE, ' letter');
  await s.webview().locator(`td.cell[data-layer="${LAYER}"][data-pos="${pos}"]`).click();
  const details = s.webview().locator('#details');
  await details.waitFor();

  const expected = await core.inspect(model, SENTENCE, { topK: TOPK, threshold: THRESHOLD });
  const top = expected.layers[LAYER].positions[pos].top;
  const shownKeys = await details.locator('.memory').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-key'))));
  assert.deepEqual(shownKeys, top.map((m) => m.key));

  const key = top[0].key;
  const values = details.locator(`.values[data-key="${key}"] .value-tokens.top`);
  await values.locator('.chip').first().waitFor();
  const want = await core.decodeValue(model, LAYER, key, 8);
  assert.deepEqual((await chipIds(values)).map((c) => c.id), want.top.map((t) => t.id));
  const bottom = await chipIds(details.locator(`.values[data-key="${key}"] .value-tokens.bottom`));
  assert.deepEqual(bottom.map((c) => c.id), want.bottom.map((t) => t.id));
  await s.screenshot('details');
});

test('switching a memory off changes the prediction as the core computes it', { skip }, async () => {
  const s = vsc!;
  const pos = tokenIndex(SENTENCE, ' letter');
  const ids = model.tokenizer.encodeWithOffsets(SENTENCE).map((t) => t.id);
  const expected = await core.inspect(model, SENTENCE, { topK: TOPK, threshold: THRESHOLD });
  const key = expected.layers[LAYER].positions[pos].top[0].key;

  await s.webview().locator(`vscode-button[data-action="off"][data-key="${key}"]`).click();
  const afterRow = s.webview().locator('#prediction-after');
  await afterRow.locator('.chip').first().waitFor();
  const want = await core.predictWithInterventions(model, ids, pos, [{ layer: LAYER, key, mode: 'set', value: 0 }], 5);
  const shownAfter = await chipIds(afterRow);
  const shownBefore = await chipIds(s.webview().locator('#prediction-before'));
  assert.deepEqual(shownAfter.map((c) => c.id), want.after.map((t) => t.id));
  shownAfter.forEach((c, i) => assert.ok(Math.abs(c.prob - want.after[i].prob) < 1e-5, `after[${i}] ${c.prob} vs ${want.after[i].prob}`));
  assert.deepEqual(shownBefore.map((c) => c.id), want.before.map((t) => t.id));
  assert.ok(shownAfter.some((c, i) => c.prob !== shownBefore[i]?.prob || c.id !== shownBefore[i]?.id), 'the intervention changed nothing');
  await s.screenshot('intervention');
});

test('per-layer predictions list every layer', { skip }, async () => {
  const s = vsc!;
  const lens = s.webview().locator('#layer-lens table.lens tbody tr');
  await lens.first().waitFor();
  assert.equal(await lens.count(), model.info.nLayers);
});

test('cells are keyboard accessible: arrows move, Enter opens details', { skip }, async () => {
  const s = vsc!;
  const wv = s.webview();
  const pos = tokenIndex(SENTENCE, ' letter');
  await wv.locator(`td.cell[data-layer="${LAYER}"][data-pos="${pos}"]`).focus();
  await s.page.keyboard.press('ArrowRight');
  await s.page.keyboard.press('ArrowUp');
  await s.page.keyboard.press('Enter');
  const h2 = wv.locator('#details h2');
  await h2.filter({ hasText: `Layer ${LAYER + 1}` }).filter({ hasText: `position ${pos + 1}` }).waitFor();
  assert.equal(await wv.locator(`td.cell[data-layer="${LAYER + 1}"][data-pos="${pos + 1}"]`).getAttribute('aria-selected'), 'true');
  // Back to the cell the other tests use.
  await wv.locator(`td.cell[data-layer="${LAYER}"][data-pos="${pos}"]`).click();
  await h2.filter({ hasText: `Layer ${LAYER} ` }).waitFor();
});

test('Highlight decorates the editor where a memory fires', { skip }, async () => {
  const s = vsc!;
  const wv = s.webview();
  const key = Number(await wv.locator('.memory').first().getAttribute('data-key'));
  await wv.locator(`vscode-button[data-action="highlight"][data-key="${key}"]`).click();
  // Decorations with a background render as elements with a generated "ced-" class in the editor.
  const decorated = s.page.locator('.editor-instance .monaco-editor [class*="ced-"]');
  await decorated.first().waitFor();
  assert.ok((await decorated.count()) > 0);
  await s.screenshot('highlight');
  await s.runCommand('FFN Lens: Clear Key Highlights');
  await decorated.first().waitFor({ state: 'detached' });
});

test('Why ‹token›? attributes the prediction at the selected token; a supporting memory opens its details', { skip }, async () => {
  const s = vsc!;
  const wv = s.webview();
  const ids = model.tokenizer.encode(SENTENCE);
  const pos = tokenIndex(SENTENCE, ' letter');
  const trace = await core.tracePosition(model, ids, pos);
  const want = core.attribute(model, trace);
  const support = core.rankMemories(trace, want.memoryScores, { k: 1, order: 'support' })[0];
  const why = wv.locator('#why');
  await why.locator('svg.attr-bars').waitFor();
  assert.match((await why.locator('h2').textContent()) ?? '', new RegExp(want.target.text.trim()));
  const first = why.locator('.attr-memories.support vscode-button').first();
  assert.deepEqual([Number(await first.getAttribute('data-layer')), Number(await first.getAttribute('data-key'))], [support.layer, support.key]);
  await first.click();
  await why.locator(`.memory[data-key="${support.key}"]`).waitFor();
  await s.screenshot('why');
});

test('the panel keeps its state when hidden and shown again', { skip }, async () => {
  const s = vsc!;
  const tab = s.page.locator('.tab', { hasText: 'FFN Lens:' }).first();
  await tab.click();
  // A file opened in the panel's group hides the webview, and VS Code discards its document.
  await s.openFileHere('sample.txt');
  await s.page.locator('iframe.webview.ready').first().waitFor({ state: 'hidden' });
  await tab.click();
  const wv = s.webview();
  await wv.locator('#details h2', { hasText: `Layer ${LAYER} ` }).waitFor();
  const tokens = model.tokenizer.encodeWithOffsets(SENTENCE).length;
  assert.equal(await wv.locator('#heatmap').getAttribute('data-tokens'), String(tokens));
  await s.screenshot('restored');
  // Close the extra editor so the panel's group holds the panel alone again.
  await s.page.locator('.tab', { hasText: 'sample.txt' }).last().click();
  await s.runCommand('View: Close Editor');
  await s.page.locator('.tab', { hasText: 'sample.txt' }).nth(1).waitFor({ state: 'detached' });
});

test('hovering a token shows its predictions and top memories', { skip }, async () => {
  const s = vsc!;
  await s.openFile('sample.txt');
  const cold = await s.hoverText(HOVER_WORD);
  await cold.waitFor({ timeout: 60_000 });
  const text = (await cold.textContent()) ?? '';
  assert.match(text, /Next token/);
  assert.match(text, /Top memories/);
  assert.match(text, /L\d+:\d+/);
  await s.screenshot('hover');

  // Warm: the paragraph's analysis and the value decodings are cached for this document version.
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await s.page.mouse.move(1, 1);
    await s.page.locator('.monaco-hover:not(.hidden)').filter({ hasText: 'FFN Lens' }).waitFor({ state: 'hidden' }).catch(() => undefined);
    const t0 = performance.now();
    await (await s.hoverText(HOVER_WORD)).waitFor();
    times.push(performance.now() - t0);
  }
  const best = Math.min(...times);
  console.log(`# latency: warm hover end to end (mouse move → tooltip visible, editor.hover.delay 0): ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
  // The provider's own time, as the extension logs it (provideHover entry → result).
  const provider = [...s.extensionLog().matchAll(/hover warm: ([\d.]+) ms/g)].map((m) => Number(m[1]));
  assert.ok(provider.length >= 3, 'the provider logged its warm hovers');
  console.log(`# latency: warm hover, provider (entry → result, cached per document version and paragraph): ${provider.slice(-3).join(', ')} ms`);
  if (strict) {
    assert.ok(best <= BUDGET.hoverWarmMs, `warm hover ${best.toFixed(0)} ms`);
    assert.ok(Math.min(...provider.slice(-3)) <= BUDGET.hoverWarmMs, `warm hover provider ${Math.min(...provider.slice(-3))} ms`);
  }
});

test('latency: a 128-token selection → heatmap with the model loaded', { skip }, async () => {
  const s = vsc!;
  const doc = fs.readFileSync(path.join(s.server.workspace, 'sample.txt'), 'utf8');
  const para = doc.slice(doc.indexOf(LONG_START)).split('\n')[0];
  const spans = model.tokenizer.encodeWithOffsets(para);
  assert.ok(spans.length >= 128, `the long paragraph has only ${spans.length} tokens`);
  const text = para.slice(0, spans[127].end);
  const n = model.tokenizer.encodeWithOffsets(text).length;
  assert.equal(n, 128);

  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await s.selectText(text);
    // Mark the table on screen: the panel rebuilds it, so an unmarked one is this run's.
    await s.webview().locator('#heatmap').evaluate((el) => el.setAttribute('data-stale', '1'));
    const t0 = await s.runCommand('FFN Lens: Inspect Selection');
    await s.webview().locator('#heatmap[data-tokens="128"]:not([data-stale])').waitFor({ timeout: 60_000 });
    times.push(performance.now() - t0);
  }
  await s.screenshot('heatmap-128');
  console.log(`# latency: as the test sees it (palette Enter → table found by polling): ${times.map((t) => t.toFixed(0)).join(', ')} ms`);

  // The extension's own account of the same runs: engine time, host event-loop delay, paint.
  const log = s.extensionLog();
  const runs = [...log.matchAll(/inspected 128 tokens in ([\d.]+) ms \(engine ([\d.]+) ms, host event-loop max delay ([\d.]+) ms\)/g)];
  const paints = [...log.matchAll(/panel rendered 128 tokens in ([\d.]+) ms; selection → heatmap (\d+) ms \(host (\d+) ms, to webview (\d+) ms\)/g)];
  assert.equal(runs.length, 3, 'the extension logged each inspection');
  assert.equal(paints.length, 3, 'the panel reported each paint');
  const totals = paints.map((m) => Number(m[2]));
  console.log(
    `# latency: command → heatmap painted, 128 tokens, model loaded (extension's clock): ${totals.join(', ')} ms` +
      `: host ${paints.map((m) => m[3]).join(', ')} ms (engine ${runs.map((m) => m[2]).join(', ')}),` +
      ` to webview ${paints.map((m) => m[4]).join(', ')} ms, paint ${paints.map((m) => m[1]).join(', ')} ms`,
  );
  if (strict) assert.ok(Math.min(...totals) <= BUDGET.inspect128Ms, `selection → heatmap ${Math.min(...totals)} ms`);
  const delays = runs.map((m) => Number(m[3]));
  console.log(`# extension host event-loop max delay during inspections: ${delays.join(', ')} ms (budget 50)`);
  // The delay also counts time the OS did not schedule the host (2 cores shared with Chromium,
  // the worker and this test), so outside strict mode the check is that the forward pass ran off
  // the host's thread: the host is never stalled for as long as half of the inference.
  runs.forEach((m, i) => {
    const limit = strict ? 50 : Math.max(50, Number(m[2]) / 2);
    assert.ok(delays[i] <= limit, `the extension host was blocked for ${delays[i]} ms (limit ${limit.toFixed(0)} ms)`);
  });
});

test('the panel is revived with its state after the window reloads', { skip }, async () => {
  const s = vsc!;
  const wv = s.webview();
  await wv.locator('td.cell[data-layer="2"][data-pos="4"]').click();
  await wv.locator('#details h2', { hasText: 'Layer 2 ' }).waitFor();
  await s.runCommand('Developer: Reload Window');
  await s.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  // The serializer revives the panel; the webview restores its own state and asks the (reloaded)
  // extension for the value tokens again.
  await s.webview().locator('#details h2', { hasText: 'Layer 2 ' }).filter({ hasText: 'position 4' }).waitFor({ timeout: 60_000 });
  assert.equal(await s.webview().locator('#heatmap').getAttribute('data-tokens'), '128');
  await s.webview().locator('.value-tokens.top .chip').first().waitFor({ timeout: 60_000 });
  await s.screenshot('revived');
});
