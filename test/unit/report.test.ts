/**
 * The report: one self-contained page (no remote asset, no script) with a chart and a
 * table for every statistic, carrying the same numbers as the JSON; and the CLI commands
 * report, values and search end to end on the planted model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, loadModel, renderReport, type PaperStatistics } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir, runCli } from '../support';

const planted = writePlantedModel({ words: ['apple', 'banana', 'dog', 'egg'], plants: [{ layer: 1, key: 3, trigger: 'apple', promotes: 'dog' }] });
const cache = tempDir();
const corpus = path.join(tempDir(), 'corpus.txt');
fs.writeFileSync(corpus, 'banana apple dog egg\n\napple dog banana\n');
const indexDir = tempDir();

test.before(async () => {
  const model = await loadModel(planted.dir, { cacheDir: cache });
  try {
    await buildTriggerIndex(model, { corpus: [corpus], out: indexDir, top: 5, window: 8 });
  } finally {
    await model.dispose();
  }
});

const embeddedJson = (html: string) => {
  const m = /<section id="json">.*?<pre>([\s\S]*?)<\/pre>/.exec(html);
  assert.ok(m, 'the page embeds its numbers');
  const text = m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return JSON.parse(text) as PaperStatistics;
};

test('cli report writes a self-contained page with every statistic, and --json prints the same numbers', async () => {
  const out = path.join(tempDir(), 'report.html');
  const r = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', indexDir, '--out', out, '--json', '--positions', '50', '-q');
  assert.equal(r.code, 0, r.stderr);
  const stats = JSON.parse(r.stdout) as PaperStatistics;
  assert.equal(stats.corpus.files[0], 'corpus.txt', 'the corpus defaults to the index’s files');
  assert.equal(stats.agreement.layers[1].agreed, 1);
  const html = fs.readFileSync(out, 'utf8');

  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:|\/\/)/i, 'no remote asset or link');
  assert.doesNotMatch(html, /http/i, 'no URL at all');
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i, 'nothing to fetch or run');
  for (const id of ['agreement', 'calibration', 'patterns', 'ablation', 'active', 'composition', 'residual', 'json']) assert.match(html, new RegExp(`<section id="${id}">`));
  for (const title of ['Agreement', 'Calibration', 'Patterns', 'Active memories', 'Composition', 'Residual vs FFN']) assert.ok(html.includes(title), title);
  assert.ok((html.match(/<svg class="chart"/g) ?? []).length >= 8, 'a chart per statistic');
  assert.equal(stats.patterns?.length, 2);
  // every per-layer figure carries its interval, the null sits beside the coverage, the ablation has all three variants
  for (const l of stats.agreement.layers) assert.equal(l.ci95.length, 2);
  for (const l of stats.positions.composition) assert.equal(l.ci95.length, 2);
  for (const l of stats.patterns!) assert.ok(l.randomPositions && l.randomPositions.ci95.length === 2);
  assert.equal(stats.agreement.calibrationByLayer.length, 2);
  for (const l of stats.ablation!.layers) for (const k of ['first', 'last', 'random'] as const) assert.equal(l[k].ci95.length, 2);
  assert.ok(html.includes('95% interval'));
  assert.deepEqual(embeddedJson(html), stats);
});

test('renderReport escapes text and shows missing numbers as dashes', async () => {
  const r = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', indexDir, '--json', '--positions', '5', '-q');
  const stats = JSON.parse(r.stdout) as PaperStatistics;
  const evil: PaperStatistics = { ...stats, model: { ...stats.model, name: '<script>alert(1)</script>' }, corpus: { ...stats.corpus, files: ['a"b&c.txt'] } };
  // a layer without any key to judge has NaN rates (null once through JSON)
  evil.agreement = { ...stats.agreement, layers: stats.agreement.layers.map((l) => ({ ...l, keys: 0, rate: NaN, meanRank: NaN, medianRank: NaN })) };
  const html = renderReport(evil);
  assert.ok(!html.includes('<script>'));
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('a&quot;b&amp;c.txt'));
  assert.ok(!/NaN|undefined|Infinity/.test(html.replace(/<section id="json">[\s\S]*$/, '')));
  assert.ok(html.includes('<td>–</td>'));
});

test('cli report: a human summary without --out/--json, and clear errors', async () => {
  const r = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', indexDir, '--positions', '5', '-q');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /layer\s+agreement\s+patterns vs null\s+ablation first \/ last \/ random\s+active\s+composition/);
  assert.match(r.stdout, /\d+\.\d% \[\d+\.\d–\d+\.\d\]/, 'rates with their intervals');
  const missing = await runCli('report', '--model', planted.dir, '--cache', cache, '-q');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--index DIR is required/);
  const nothing = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', tempDir(), '-q');
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /holds no trigger index/);
});

test('cli report reads the index\'s text field by default, and --text-field names another', async () => {
  const jsonDir = tempDir();
  const records = (field: string) => ['banana apple dog egg', 'apple dog banana'].map((t) => JSON.stringify({ [field]: t })).join('\n') + '\n';
  const content = path.join(jsonDir, 'corpus.jsonl');
  fs.writeFileSync(content, records('content'));
  const jsonIndex = path.join(jsonDir, 'index');
  const model = await loadModel(planted.dir, { cacheDir: cache });
  try {
    await buildTriggerIndex(model, { corpus: [content], out: jsonIndex, top: 5, window: 8, textField: 'content' });
  } finally {
    await model.dispose();
  }
  const recorded = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', jsonIndex, '--json', '--positions', '5', '-q');
  assert.equal(recorded.code, 0, recorded.stderr);
  assert.equal(JSON.parse(recorded.stdout).corpus.paragraphs, 2);
  const body = path.join(jsonDir, 'other.jsonl');
  fs.writeFileSync(body, records('body'));
  const other = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', jsonIndex, '--corpus', body, '--text-field', 'body', '--json', '--positions', '5', '-q');
  assert.equal(other.code, 0, other.stderr);
  assert.equal(JSON.parse(other.stdout).corpus.paragraphs, 2);
  const wrong = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', jsonIndex, '--corpus', body, '--positions', '5', '-q');
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /no "content" field/);
  const empty = await runCli('report', '--model', planted.dir, '--cache', cache, '--index', jsonIndex, '--text-field', '', '-q');
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /--text-field needs a field name/);
});

test('cli values and search find the planted memory', async () => {
  const v = await runCli('values', '--model', planted.dir, '--cache', cache, '--layer', '1', '--key', '3', '--top', '2', '--json', '-q');
  assert.equal(v.code, 0, v.stderr);
  const j = JSON.parse(v.stdout);
  assert.equal(j.top[0].text, 'dog');
  assert.equal(j.top.length, 2);
  assert.equal(j.finalNorm, false);
  // the planted value is one embedding direction: dog scores 6, each of the other V − 1
  // tokens 0, so dog's z-score is exactly sqrt(V − 1)
  assert.deepEqual([j.top[0].rank, j.top[0].score], [1, 6]);
  assert.ok(Math.abs(j.top[0].z - Math.sqrt(planted.words.length - 1)) < 1e-6, `z of dog = ${j.top[0].z}`);
  assert.equal(j.bottom[0].rank, planted.words.length);
  // the planted key reads its trigger's embedding
  assert.equal(j.keyReads.top[0].text, 'apple');
  const human = await runCli('values', '--model', planted.dir, '--cache', cache, '--layer', '1', '--key', '3', '--final-norm', '-q');
  assert.match(human.stdout, /norm\(v\)·E through the final norm[\s\S]*"dog"/);
  assert.match(human.stdout, /k·E over the input embeddings[\s\S]*"apple"/);
  const bad = await runCli('values', '--model', planted.dir, '--cache', cache, '--layer', '5', '--key', '3', '-q');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--layer 5 is outside 0..1/);

  const s = await runCli('search', '--model', planted.dir, '--cache', cache, '--token', 'dog', '--top', '3', '--json', '-q');
  assert.equal(s.code, 0, s.stderr);
  const hits = JSON.parse(s.stdout).hits;
  assert.deepEqual([hits[0].layer, hits[0].key], [1, 3]);
  const text = await runCli('search', '--model', planted.dir, '--cache', cache, '--token', 'dog', '--suppress', '-q');
  assert.match(text.stdout, /memories that suppress "dog"/);
});
