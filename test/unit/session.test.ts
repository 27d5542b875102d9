/**
 * Session files (src/extension/sessionFile.ts) are untrusted input: a saved session reads back
 * as it was written, and every malformed or oversized field is refused with a message naming it.
 * Also the panel's place message, and the exported inspection page (renderInspectPage).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadModel, renderInspectPage } from '../../src/core';
import { parseSession, serializeSession, SessionFileError, SESSION_FORMAT, SESSION_VERSION, type Session } from '../../src/extension/sessionFile';
import { parseWebviewMessage } from '../../src/protocol';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';

const session = (): Session => ({
  format: SESSION_FORMAT,
  version: SESSION_VERSION,
  model: { spec: '/models/gpt2-books', name: 'gpt2-books', hash: 'abc123' },
  text: 'The nurse said that she',
  topK: 10,
  threshold: 1,
  place: { selected: { layer: 3, position: 4 }, memory: { layer: 3, key: 21 }, interventions: [{ layer: 3, key: 17, mode: 'set', value: 0 }] },
  triggerIndex: '/indexes/wiki',
  savedAt: '2026-11-30T12:00:00.000Z',
});

test('a session reads back as written', () => {
  assert.deepEqual(parseSession(serializeSession(session())), session());
  const none = { ...session(), triggerIndex: null, place: { interventions: [] } };
  assert.deepEqual(parseSession(serializeSession(none)), none);
});

test('a session saved before memories could be selected still opens, with no memory', () => {
  const older = { selected: { layer: 3, position: 4 }, interventions: session().place.interventions };
  const read = parseSession(JSON.stringify({ ...session(), place: older }));
  assert.deepEqual(read.place, older);
  assert.equal('memory' in read.place, false);
});

test('malformed sessions are refused with the field named', () => {
  const bad = (patch: Record<string, unknown>, re: RegExp) => {
    const json = JSON.stringify({ ...session(), ...patch });
    assert.throws(() => parseSession(json), (e: Error) => e instanceof SessionFileError && re.test(e.message), JSON.stringify(patch));
  };
  assert.throws(() => parseSession('{not json'), /not JSON/);
  assert.throws(() => parseSession('[]'), /not an FFN Lens session/);
  bad({ format: 'other' }, /not an FFN Lens session/);
  bad({ version: 2 }, /version 2 is not supported/);
  bad({ model: 'gpt2' }, /"model" is missing/);
  bad({ model: { spec: '', name: 'x', hash: 'y' } }, /model\.spec/);
  bad({ model: { spec: 'a\u0000b', name: 'x', hash: 'y' } }, /model\.spec/);
  bad({ text: 42 }, /"text"/);
  bad({ text: 'x'.repeat(1024 * 1024 + 1) }, /"text"/);
  bad({ topK: 0 }, /"topK"/);
  bad({ topK: 1.5 }, /"topK"/);
  bad({ threshold: 'high' }, /"threshold"/);
  bad({ place: { interventions: [{ layer: 0, key: 1, mode: 'erase', value: 0 }] } }, /"place"/);
  bad({ place: { selected: { layer: -1, position: 0 }, interventions: [] } }, /"place"/);
  bad({ place: { interventions: Array.from({ length: 65 }, () => ({ layer: 0, key: 0, mode: 'set', value: 0 })) } }, /"place"/);
  bad({ place: { ...session().place, memory: { layer: 3 } } }, /"place" \(selected cell, memory and interventions\)/);
  bad({ place: { ...session().place, memory: { layer: 3, key: -1 } } }, /"place"/);
  bad({ place: { ...session().place, memory: { layer: 3, key: 2.5 } } }, /"place"/);
  bad({ place: { ...session().place, memory: [3, 21] } }, /"place"/);
  // a memory is selected among a cell's: one without a cell is not a place the panel can be in
  bad({ place: { memory: { layer: 3, key: 21 }, interventions: [] } }, /"place"/);
  bad({ triggerIndex: 7 }, /"triggerIndex"/);
  assert.throws(() => parseSession(' '.repeat(4 * 1024 * 1024 + 1)), /over 4 MB/);
  // fields it does not know are dropped, not carried
  const extra = parseSession(JSON.stringify({ ...session(), run: 'rm -rf /', place: { ...session().place, evil: 1, memory: { layer: 3, key: 21, note: 'x' } } }));
  assert.deepEqual(extra, session());
});

test('the panel reports its place; a malformed place is rejected', () => {
  const place = { type: 'place', selected: { layer: 1, position: 2 }, interventions: [{ layer: 1, key: 3, mode: 'scale', value: 2, positions: [9] }] };
  assert.deepEqual(parseWebviewMessage(place), { type: 'place', selected: { layer: 1, position: 2 }, interventions: [{ layer: 1, key: 3, mode: 'scale', value: 2 }] });
  assert.deepEqual(parseWebviewMessage({ type: 'place', interventions: [] }), { type: 'place', interventions: [] });
  assert.equal(parseWebviewMessage({ type: 'place', selected: { layer: 1 }, interventions: [] }), undefined);
  assert.equal(parseWebviewMessage({ type: 'place' }), undefined);
  const withMemory = { type: 'place', selected: { layer: 1, position: 2 }, memory: { layer: 0, key: 7 }, interventions: [] };
  assert.deepEqual(parseWebviewMessage(withMemory), withMemory);
  assert.equal(parseWebviewMessage({ ...withMemory, memory: { layer: 0, key: 'seven' } }), undefined);
  assert.equal(parseWebviewMessage({ ...withMemory, selected: undefined }), undefined);
});

test('renderInspectPage: the heatmap, the selected cell with its value tokens and the intervention effect, no script', async () => {
  const p = writePlantedModel({ words: ['apple', 'banana', 'dog'], plants: [{ layer: 1, key: 3, trigger: 'apple', promotes: 'dog' }] }, tempDir());
  const model = await loadModel(p.dir, { noCache: true });
  try {
    const html = await renderInspectPage(model, 'banana apple', {
      topK: 2,
      threshold: 1,
      selected: { layer: 1, position: 1 },
      memory: { layer: 1, key: 3 },
      interventions: [{ layer: 1, key: 3, mode: 'set', value: 0 }],
      label: '<b>x</b>',
    });
    assert.ok(!/<script/i.test(html));
    assert.ok(!html.includes('<b>x</b>'), 'the label is escaped');
    assert.match(html, /<td class="heat selected"/);
    assert.match(html, /<code>L1:3<\/code><\/td><td class="num">[\d.]+<\/td><td><code>dog<\/code>/, 'the planted memory, with "dog" first among its value tokens');
    // before: "dog" predicted after apple; after switching L1:3 off, no longer first
    const before = /before: <code>([^<]*)<\/code>/.exec(html)?.[1];
    const after = /after 1 intervention\(s\) \([^)]*\): <code>([^<]*)<\/code>/.exec(html)?.[1];
    assert.equal(before, 'dog');
    assert.notEqual(after, 'dog');
    // the selected memory: its own section (value tokens both ways) and its row marked in the list
    assert.match(html, /<h3>Selected memory<\/h3><table id="selected-memory"><tbody><tr class="selected"><td><code>L1:3<\/code><\/td><td class="muted">coefficient [\d.]+ at this token<\/td><\/tr>\n<tr><td>promotes<\/td><td><code>dog<\/code>/);
    assert.match(html, /<td>suppresses<\/td><td><code>/);
    assert.match(html, /<tr class="selected"><td><code>L1:3<\/code><\/td><td class="num">/);
    assert.equal(html.match(/<tr class="selected">/g)?.length, 2, 'no other row is marked');
    // a memory the cell does not list is still shown, said to be outside its top memories
    const elsewhere = await renderInspectPage(model, 'banana apple', { topK: 2, threshold: 1, selected: { layer: 1, position: 1 }, memory: { layer: 0, key: 3 }, interventions: [] });
    assert.match(elsewhere, /<code>L0:3<\/code><\/td><td class="muted">not among this token’s top memories/);
    // one outside the model is left out rather than failing the export
    const outside = await renderInspectPage(model, 'banana apple', { topK: 2, threshold: 1, selected: { layer: 1, position: 1 }, memory: { layer: 9, key: 0 }, interventions: [] });
    assert.ok(!outside.includes('Selected memory'));
    const plain = await renderInspectPage(model, 'banana apple', { topK: 2, threshold: 1, interventions: [] });
    assert.match(plain, /No cell was selected/);
  } finally {
    await model.dispose();
  }
});
