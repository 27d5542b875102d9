/** Bad input to the trigger index: clear messages, and nothing corrupt left behind. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, loadModel, openTriggerIndex } from '../../src/core';
import { ParagraphSplitter } from '../../src/core/analysis/triggers/corpus';
import { writePlantedModel } from '../fixtures/planted';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { tempDir } from '../support';

const planted = plantedForTriggers();
const modelP = loadModel(planted.dir, { noCache: true });
after(async () => (await modelP).dispose());

async function rejectsWithNothingWritten(corpus: string[], pattern: RegExp): Promise<void> {
  const model = await modelP;
  const out = path.join(tempDir(), 'index');
  await assert.rejects(buildTriggerIndex(model, { corpus, out }), pattern);
  assert.ok(!fs.existsSync(out), 'no output folder is created for a corpus rejected up front');
}

test('empty, binary, non-UTF-8 and missing corpus files are rejected before anything is written', async () => {
  const dir = tempDir();
  const empty = path.join(dir, 'empty.txt');
  fs.writeFileSync(empty, '\n   \n\t\n');
  await rejectsWithNothingWritten([empty], /the corpus is empty: .*empty\.txt has no line with a non-whitespace character/);
  await rejectsWithNothingWritten([], /no corpus files given/);
  const binary = path.join(dir, 'model.bin');
  fs.writeFileSync(binary, Buffer.from([0x63, 0x61, 0x74, 0x00, 0x01, 0x02]));
  await rejectsWithNothingWritten([binary], /model\.bin looks binary \(a NUL byte at offset 3\)/);
  const latin1 = path.join(dir, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.from('the cat sat on the mat, caf\xe9\n', 'latin1'));
  await rejectsWithNothingWritten([latin1], /latin1\.txt is not valid UTF-8/);
  const truncated = path.join(dir, 'cut.txt');
  fs.writeFileSync(truncated, Buffer.concat([Buffer.from('the cat '), Buffer.from('é', 'utf8').subarray(0, 1)]));
  await rejectsWithNothingWritten([truncated], /cut\.txt is not valid UTF-8/);
  await rejectsWithNothingWritten([path.join(dir, 'nope.txt')], /corpus file .*nope\.txt does not exist/);
  // a folder is a corpus of its supported files; one without any is refused
  fs.mkdirSync(path.join(dir, 'none'));
  fs.writeFileSync(path.join(dir, 'none', 'notes.pdf'), '%PDF');
  await rejectsWithNothingWritten([path.join(dir, 'none')], /the corpus folder .*none holds no supported file/);
});

test('a corpus file that vanishes mid-run: a clear error, no index, nothing half-written', async () => {
  const model = await modelP;
  const dir = tempDir();
  const a = writeCorpus(dir, 'a.txt', randomParagraphs(40, 3));
  const b = writeCorpus(dir, 'b.txt', randomParagraphs(10, 4));
  const out = path.join(dir, 'index');
  let removed = false;
  const vanish = () => {
    if (!removed) fs.rmSync(b);
    removed = true;
  };
  await assert.rejects(buildTriggerIndex(model, { corpus: [a, b], out, poolTokens: 20, onProgress: vanish }), /corpus file .*b\.txt vanished during indexing/);
  assert.ok(!fs.existsSync(out), 'without a checkpoint the run leaves nothing');

  // with checkpoints on, the last one survives intact and the run continues once the file is back
  const content = randomParagraphs(10, 4);
  writeCorpus(dir, 'b.txt', content);
  removed = false;
  await assert.rejects(buildTriggerIndex(model, { corpus: [a, b], out, poolTokens: 20, checkpointSeconds: 0, onProgress: vanish }), /vanished during indexing/);
  assert.deepEqual(fs.readdirSync(out).sort(), ['checkpoint.bin', 'tokens.spool']);
  writeCorpus(dir, 'b.txt', content);
  await buildTriggerIndex(model, { corpus: [a, b], out, resume: true, poolTokens: 20 });
  const reference = path.join(dir, 'reference');
  await buildTriggerIndex(model, { corpus: [a, b], out: reference, poolTokens: 20 });
  assert.ok(fs.readFileSync(path.join(out, 'triggers.idx')).equals(fs.readFileSync(path.join(reference, 'triggers.idx'))));
});

test('a corpus file that changes mid-run is an error; resuming on changed files is refused', async () => {
  const model = await modelP;
  const dir = tempDir();
  const a = writeCorpus(dir, 'a.txt', randomParagraphs(40, 5));
  const out = path.join(dir, 'index');
  let edited = false;
  const edit = () => {
    if (!edited) fs.appendFileSync(a, '\nthe dog ran home\n');
    edited = true;
  };
  await assert.rejects(buildTriggerIndex(model, { corpus: [a], out, poolTokens: 20, checkpointSeconds: 0, onProgress: edit }), /a\.txt changed during indexing/);
  await assert.rejects(buildTriggerIndex(model, { corpus: [a], out, resume: true }), /other corpus files .* or they changed since/);
});

test('a paragraph longer than the context is cut into windows; a window beyond the context is refused', async () => {
  const model = await modelP;
  const dir = tempDir();
  const long = Array.from({ length: 50 }, (_, i) => (i % 4 === 0 ? 'cat' : 'mat')).join(' ');
  const corpus = writeCorpus(dir, 'long.txt', [long]);
  const out = path.join(dir, 'index');
  await buildTriggerIndex(model, { corpus: [corpus], out, top: 13 });
  const index = openTriggerIndex(out, model);
  assert.equal(index.info.totals.windows, 4, '50 tokens in windows of 16');
  const windows = new Set(index.triggers(0, 3).map((t) => t.window));
  assert.deepEqual([...windows].sort(), [0, 1, 2, 3]);
  for (const t of index.triggers(0, 3)) assert.ok(t.prefix.length <= 16 && t.prefix.length === t.position + 1);
  await assert.rejects(buildTriggerIndex(model, { corpus: [corpus], out: path.join(dir, 'x'), window: 17 }), /window 17 exceeds .*context of 16 tokens/);
  await assert.rejects(buildTriggerIndex(model, { corpus: [corpus], out: path.join(dir, 'x'), shard: { index: 2, count: 2 } }), /shard 2\/2 is invalid/);
});

test('opening an index with another model, a damaged index or no index: clear errors', async () => {
  const model = await modelP;
  const dir = tempDir();
  const corpus = writeCorpus(dir, 'c.txt', randomParagraphs(5, 9));
  const out = path.join(dir, 'index');
  await buildTriggerIndex(model, { corpus: [corpus], out });
  const other = writePlantedModel({ words: ['x', 'y'], plants: [{ layer: 0, key: 1, trigger: 'x', promotes: 'y' }] });
  const otherModel = await loadModel(other.dir, { noCache: true });
  try {
    assert.throws(() => openTriggerIndex(out, otherModel), /was built with .* \(model hash [0-9a-f]+.*\); the loaded model is .* \(hash [0-9a-f]+\)/);
  } finally {
    await otherModel.dispose();
  }
  assert.equal(openTriggerIndex(out, model).info.model.hash, model.info.hash);

  const file = path.join(out, 'triggers.idx');
  const buf = fs.readFileSync(file);
  buf[buf.length - 100] ^= 0xff;
  fs.writeFileSync(file, buf);
  assert.throws(() => openTriggerIndex(out), /triggers\.idx is damaged \(checksum mismatch\)/);
  fs.writeFileSync(file, 'not an index');
  assert.throws(() => openTriggerIndex(out), /is not a trigger index/);
  assert.throws(() => openTriggerIndex(path.join(dir, 'nothing')), /holds no trigger index/);
});

test('paragraphs: maximal runs of non-blank lines, joined with \\n and trimmed, whatever the chunking', () => {
  const text = '\uFEFF  first line \r\nsecond\r\n \t\r\n\n  third\n\n\nfourth\nfifth  \n';
  // the BOM is dropped by the UTF-8 decoder before the splitter sees the text
  const expected = ['first line \nsecond', 'third', 'fourth\nfifth'];
  const body = text.slice(1);
  for (let cut = 0; cut <= body.length; cut++) {
    const got: string[] = [];
    const s = new ParagraphSplitter((p) => got.push(p));
    s.push(body.slice(0, cut));
    s.push(body.slice(cut));
    s.end();
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
});
