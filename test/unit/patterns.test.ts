/** Automatic pattern labels and human labels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addLabel, findPatterns, labelsFor, readLabels, removeLabel, summarizeKey, summarizeLayer, writeLabels, type KeyLabel, type PatternVocab, type Trigger } from '../../src/core';
import { tempDir } from '../support';

/** A word-level vocabulary: token i is WORDS[i] (with GPT-2's leading space), 0 is special. */
const WORDS = ['<s>', ' the', ' New', ' York', ' Times', ' city', ' in', ' football', ' season', ' club', ',', ' said', ' music', ' band', ' album', ' of', ' mayor'];
const id = (w: string) => WORDS.indexOf(` ${w}`) >= 0 ? WORDS.indexOf(` ${w}`) : WORDS.indexOf(w);
const vocab: PatternVocab = {
  tokenText: (i) => WORDS[i],
  decode: (ids) => ids.map((i) => WORDS[i]).join(''),
  isSpecial: (i) => i === 0,
};

let nextParagraph = 0;
function trig(words: string, next: string | null, paragraph = nextParagraph++): Trigger {
  const prefix = words.split(' ').map(id);
  assert.ok(prefix.every((i) => i >= 0), words);
  return { paragraph, window: 0, position: prefix.length - 1, coeff: 1, prefix, next: next === null ? null : id(next) };
}

test('shallow patterns: the same trigger token, the most specific final n-gram, a shared recent content token', () => {
  const ts = [
    trig('the New York', 'Times'),
    trig('in New York', 'city'),
    trig('mayor of New York', ','),
    trig('the football club', 'season'),
    trig('football season , the club', 'said'),
    trig('the football season the club', 'in'),
  ];
  const p = findPatterns(ts, vocab);
  const labels = p.map((x) => x.label);
  // "New York" covers exactly the triggers "York" covers: only the longer n-gram is kept
  assert.ok(labels.includes('ends with " New York"'), labels.join(' | '));
  assert.ok(!labels.includes('trigger token " York"'));
  assert.ok(labels.includes('trigger token " club"'));
  assert.ok(labels.includes('" football" in the last 5 tokens'));
  // "the" is everywhere but is a stopword: no pattern
  assert.ok(!labels.some((l) => l.includes('" the"')));
  const ny = p.find((x) => x.label === 'ends with " New York"')!;
  assert.equal(ny.kind, 'shallow');
  assert.deepEqual(ny.covers, [0, 1, 2]);
  assert.deepEqual(ny.tokens, [id('New'), id('York')]);
});

test('prefix and output: topic words are semantic prefix patterns; next token and value agreement are output hints, outside `covered`', () => {
  const ts = [
    trig('music band in the city', 'album'),
    trig('the band of the season', 'album'),
    trig('album of the music', 'album'),
    trig('music , the club', 'band'),
    trig('the music said', 'season'),
  ];
  const p = findPatterns(ts, vocab, [id('album'), id('band'), id('music')]);
  const next = p.find((x) => x.type === 'next-token')!;
  assert.equal(next.label, 'next token " album"');
  assert.deepEqual(next.covers, [0, 1, 2]);
  const value = p.find((x) => x.type === 'value-agreement')!;
  assert.deepEqual(value.covers, [0, 1, 2, 3]);
  assert.deepEqual(value.tokens, [id('album'), id('band')]);
  const topic = p.find((x) => x.type === 'topic-word' && x.word === 'music')!;
  assert.deepEqual(topic.covers, [0, 3, 4], 'the trigger token itself is not context');
  assert.equal(topic.kind, 'semantic');
  assert.equal(next.kind, 'output');
  assert.equal(value.kind, 'output');
  const k = summarizeKey(0, 0, ts.length, p);
  assert.equal(k.coveredOutput, 4);
  assert.equal(k.covered, new Set(p.filter((x) => x.kind !== 'output').flatMap((x) => x.covers)).size, 'output hints do not count as covered');

  // a word shared only within one paragraph is not a topic
  const same = [trig('music band', 'in', 1), trig('music band in', 'the', 1), trig('music band in the', 'city', 1)];
  assert.ok(!findPatterns(same, vocab).some((x) => x.type === 'topic-word'));
});

test('stopwords and punctuation make no pattern: not as trigger token, n-gram, recent or next token', () => {
  const ts = [trig('music of the', ','), trig('band in the', ','), trig('album of the', ','), trig('club , the', ',')];
  const labels = findPatterns(ts, vocab).map((x) => x.label);
  assert.ok(!labels.some((l) => l.includes('" the"') || l.includes('" of the"') || l.includes('","')), labels.join(' | '));
  // the same shapes with content tokens do make patterns
  const content = [trig('the music city', 'band'), trig('in music city', 'band'), trig('of music city', 'band')];
  const found = findPatterns(content, vocab).map((x) => x.label);
  assert.ok(found.includes('ends with " music city"') && found.includes('next token " band"'), found.join(' | '));
});

test('a pattern counts from 3 of the top 25 triggers; coverage per key and per layer', () => {
  assert.deepEqual(findPatterns([trig('the club', 'in'), trig('the club', 'said')], vocab), [], 'two triggers are not enough');
  // 30 triggers: the pattern in triggers 25..29 lies outside the top 25 and does not count
  const many = Array.from({ length: 30 }, (_, i) => (i >= 25 ? trig('in the mayor', null) : trig(i % 2 ? 'the city' : 'the season', null)));
  const p = findPatterns(many, vocab);
  assert.ok(!p.some((x) => x.label.includes('mayor')));
  const k = summarizeKey(2, 7, 25, p);
  assert.equal(k.covered, 25);
  assert.equal(k.coveredShallow, 25);
  assert.equal(k.coveredSemantic, 0);

  const none = summarizeKey(2, 8, 25, []);
  const layer = summarizeLayer(2, [k, none, summarizeKey(2, 9, 0, [])]);
  assert.equal(layer.keys, 2, 'keys without triggers are not counted');
  assert.equal(layer.triggers, 50);
  assert.equal(layer.covered, 0.5);
  assert.equal(layer.keysWithPattern, 0.5);
  assert.equal(layer.patternsPerKey, p.length / 2);
  assert.equal(layer.shallowShare, 1);
  assert.equal(layer.semanticShare, 0);
});

test('human labels round-trip through an atomically written, sorted JSON file', () => {
  const file = path.join(tempDir(), 'nested', 'labels.json');
  assert.deepEqual(readLabels(file), [], 'a missing file has no labels');
  const labels: KeyLabel[] = [
    { layer: 3, key: 10, text: 'ends in a sports term', kind: 'shallow' },
    { layer: 1, key: 500, text: 'TV shows', kind: 'semantic' },
    { layer: 3, key: 2, text: 'time of day', kind: 'semantic' },
  ];
  writeLabels(file, labels, 'abc123');
  const back = readLabels(file, 'abc123');
  assert.deepEqual(back, [labels[1], labels[2], labels[0]]);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['labels.json'], 'no temporary file left');
  assert.deepEqual(labelsFor(back, 3, 2), [labels[2]]);
  addLabel(file, { layer: 3, key: 2, text: 'hours', kind: 'shallow' }, 'abc123');
  addLabel(file, { layer: 3, key: 2, text: 'hours', kind: 'shallow' }, 'abc123');
  assert.equal(labelsFor(readLabels(file), 3, 2).length, 2, 'an identical label is not repeated');
  removeLabel(file, 3, 2, 'hours', 'abc123');
  assert.deepEqual(readLabels(file), back);
  assert.throws(() => readLabels(file, 'other'), /labels another model \(hash abc123\)/);
});

test('malformed label files are rejected with the entry at fault', () => {
  const dir = tempDir();
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  assert.throws(() => readLabels(write('a.json', '{"version":1,"labels":[')), /a\.json is not valid JSON/);
  assert.throws(() => readLabels(write('b.json', '[]')), /must hold an object/);
  assert.throws(() => readLabels(write('c.json', '{"version":2,"labels":[]}')), /version 2/);
  assert.throws(() => readLabels(write('d.json', '{"version":1,"labels":{}}')), /"labels" must be an array/);
  assert.throws(() => readLabels(write('e.json', '{"version":1,"labels":[{"layer":0,"key":1,"text":"x","kind":"deep"}]}')), /labels\[0\]\.kind must be "shallow" or "semantic" \(got "deep"\)/);
  assert.throws(() => readLabels(write('f.json', '{"version":1,"labels":[{"layer":0,"key":1,"text":"x","kind":"shallow"},{"layer":-1,"key":1,"text":"x","kind":"shallow"}]}')), /labels\[1\]\.layer must be a non-negative integer/);
  assert.throws(() => readLabels(write('g.json', '{"version":1,"labels":[{"layer":0,"key":1,"text":"  ","kind":"shallow"}]}')), /labels\[0\]\.text must be a non-empty string/);
  assert.throws(() => writeLabels(path.join(dir, 'h.json'), [{ layer: 0, key: 1.5, text: 'x', kind: 'shallow' }]), /key must be a non-negative integer/);
  assert.ok(!fs.existsSync(path.join(dir, 'h.json')));
});

test('the null: random positions as pseudo-keys; a corpus of one repeated content word is all pattern, a varied one much less', async () => {
  const { PositionPool } = await import('../../src/core/analysis/statistics/sample');
  const { nullCoverage, randomTriggers } = await import('../../src/core/analysis/patterns/null');
  const { withDefaults } = await import('../../src/core/analysis/patterns/detect');
  const o = withDefaults({});
  const tok = { isSpecial: (i: number) => i === 0 };
  const windows = (f: (p: number, t: number) => number) => Array.from({ length: 60 }, (_, p) => ({ paragraph: p, window: 0, ids: Array.from({ length: 10 }, (_, t) => f(p, t)) }));
  const sameWord = new PositionPool(windows(() => id('music')), tok);
  const triggers = randomTriggers(sameWord, 25, () => 0.5);
  assert.equal(triggers.length, 25);
  for (const t of triggers) assert.deepEqual(t.prefix, Array(t.position + 1).fill(id('music')));
  const all = nullCoverage(vocab, [[id('music')]], o, { pool: sameWord, draws: 20 }, 0);
  assert.equal(all.covered, 1);
  assert.equal(all.coveredByType['trigger-token'], 1);
  // 14 content words in every order: a trigger token is shared by 3 of 25 only by chance
  const content = WORDS.map((_, i) => i).filter((i) => i > 0 && /\w{3}/.test(WORDS[i]) && !/ (the|in|of|said)$/.test(WORDS[i]));
  const varied = new PositionPool(windows((p, t) => content[(p * 7 + t * 3 + ((p * t) % 5)) % content.length]), tok);
  const some = nullCoverage(vocab, [[id('music')]], o, { pool: varied, draws: 50, seed: 2 }, 0);
  assert.ok(some.covered < all.covered && some.covered > 0, `varied corpus null: ${some.covered}`);
  assert.ok(some.ci95[0] <= some.covered && some.covered <= some.ci95[1]);
});
