/** Corpus formats: plain text, JSON Lines, gzip of either, Parquet and folders read to the same paragraphs; bad input skipped or refused clearly. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readParagraphs, scanCorpus, corpusDifference, type ScannedCorpus } from '../../src/core/analysis/triggers/corpus';
import { buildTriggerIndex, loadModel, openTriggerIndex } from '../../src/core';
import { plantedForTriggers, randomParagraphs } from '../fixtures/plantedCorpus';
import { tempDir } from '../support';

const paragraphs = randomParagraphs(30, 5);
const dir = tempDir();
const write = (name: string, data: string | Uint8Array) => {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
};
const jsonl = (texts: readonly unknown[], field = 'text') => texts.map((t) => JSON.stringify({ id: 1, [field]: t })).join('\n') + '\n';

async function parquet(name: string, column: string, values: (string | null)[], rowGroupSize?: number): Promise<string> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  return write(name, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'id', data: Int32Array.from(values, (_, i) => i) }, { name: column, data: values, type: 'STRING', nullable: true }], rowGroupSize })));
}

async function texts(scanned: ScannedCorpus): Promise<string[]> {
  const out: string[] = [];
  for await (const p of readParagraphs(scanned.files)) out.push(p.text);
  return out;
}

test('every format yields the same paragraphs, and records its hash and format', async () => {
  const plain = write('p.txt', paragraphs.join('\n\n') + '\n');
  const files = {
    text: plain,
    'text.gz': write('p.txt.gz', zlib.gzipSync(fs.readFileSync(plain))),
    jsonl: write('p.jsonl', jsonl(paragraphs)),
    'jsonl.gz': write('p.jsonl.gz', zlib.gzipSync(jsonl(paragraphs))),
    parquet: await parquet('p.parquet', 'text', paragraphs, 7),
  };
  const want = await texts(await scanCorpus([plain]));
  assert.equal(want.length, paragraphs.length);
  for (const [format, file] of Object.entries(files)) {
    const s = await scanCorpus([file]);
    assert.equal(s.files[0].format, format);
    assert.equal(s.files[0].field, format.startsWith('text') ? undefined : 'text');
    assert.equal(s.files[0].bytes, fs.statSync(file).size);
    assert.deepEqual(await texts(s), want, `${format} reads as the text file does`);
  }
  // a name without a known extension: the content decides
  const odd = write('data.bin0', zlib.gzipSync('one\n\ntwo\n'));
  assert.equal((await scanCorpus([odd])).files[0].format, 'text.gz');
});

test("a record's text follows the paragraph convention, and records never join", async () => {
  const f = write('multi.jsonl', jsonl(['first para\nstill first\n\n\nsecond', '  third  ', 'fourth']) + '\n\n');
  assert.deepEqual(await texts(await scanCorpus([f])), ['first para\nstill first', 'second', 'third', 'fourth']);
  const custom = write('custom.jsonl', jsonl(['alpha', 'beta'], 'content'));
  assert.deepEqual(await texts(await scanCorpus([custom], { textField: 'content' })), ['alpha', 'beta']);
});

test('malformed records are skipped, counted and reported with file and line or row', async () => {
  const lines = [JSON.stringify({ text: 'good one' }), '{not json', JSON.stringify({ text: 'good two' }), JSON.stringify({ body: 'x' }), JSON.stringify({ text: 42 }), '[1,2]', JSON.stringify({ text: 'good three' })];
  const f = write('bad.jsonl', lines.join('\r\n') + '\r\n');
  const s = await scanCorpus([f]);
  assert.equal(s.skipped, 4);
  assert.equal(s.files[0].skipped, 4);
  assert.deepEqual(
    s.skippedExamples.map((e) => [path.basename(e.file), e.where]),
    [2, 4, 5, 6].map((l) => ['bad.jsonl', `line ${l}`]),
  );
  assert.match(s.skippedExamples[0].reason, /not JSON/);
  assert.match(s.skippedExamples[1].reason, /no "text" field \(fields: body\)/);
  assert.match(s.skippedExamples[2].reason, /"text" is a number/);
  assert.deepEqual(await texts(s), ['good one', 'good two', 'good three']);

  const badUtf8 = write('bad8.jsonl', Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')]));
  const s8 = await scanCorpus([badUtf8]);
  assert.deepEqual([s8.skipped, s8.skippedExamples[0].where, s8.skippedExamples[0].reason], [1, 'line 2', 'not valid UTF-8']);

  const pq = await parquet('nulls.parquet', 'text', ['row zero', null, 'row two', null], 2);
  const sp = await scanCorpus([pq]);
  assert.deepEqual(
    sp.skippedExamples.map((e) => e.where),
    ['row 1', 'row 3'],
  );
  assert.deepEqual(await texts(sp), ['row zero', 'row two']);
});

test('files that are not text, or hold no usable record, are refused clearly', async () => {
  await assert.rejects(scanCorpus([write('bin.txt', Buffer.from([0x41, 0, 0x42]))]), /bin\.txt looks binary \(a NUL byte at offset 1\)/);
  await assert.rejects(scanCorpus([write('bin.jsonl', Buffer.from('{"text":"a"}\n\0\0\0'))]), /bin\.jsonl looks binary/);
  await assert.rejects(scanCorpus([write('latin1.txt', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]))]), /latin1\.txt is not valid UTF-8/);
  await assert.rejects(scanCorpus([write('fake.parquet', 'hello')]), /fake\.parquet is named \.parquet but is not a Parquet file/);
  await assert.rejects(scanCorpus([write('fake.txt.gz', 'hello')]), /fake\.txt\.gz is named \.gz but is not gzip data/);
  const gz = zlib.gzipSync('some text\n'.repeat(100));
  await assert.rejects(scanCorpus([write('cut.txt.gz', gz.subarray(0, gz.length - 10))]), /cut\.txt\.gz is not valid gzip data/);
  await assert.rejects(scanCorpus([write('gzbin.txt.gz', zlib.gzipSync(Buffer.from([1, 0, 2])))]), /looks binary \(a NUL byte at offset 1 of its decompressed content\)/);
  await assert.rejects(scanCorpus([write('field.jsonl', jsonl(['a', 'b'], 'body'))]), /field\.jsonl holds no usable record: all 2 are malformed \(line 1: no "text" field \(fields: id, body\)\); is --text-field text the right field\?/);
  await assert.rejects(scanCorpus([await parquet('col.parquet', 'body', ['a'])]), /col\.parquet has no column "text" \(its columns: id, body\); choose the text column with --text-field/);
  await assert.rejects(scanCorpus([path.join(dir, 'missing.txt')]), /corpus file .*missing\.txt does not exist/);
});

test('folders give their supported files in sorted order, leaving out the rest', async () => {
  const root = path.join(dir, 'folder');
  write('folder/b.txt', 'from b\n');
  write('folder/a/z.jsonl', jsonl(['from a/z']));
  write('folder/a/y.txt.gz', zlib.gzipSync('from a/y\n'));
  write('folder/C.md', 'from C\n');
  write('folder/notes.pdf', '%PDF');
  write('folder/.hidden.txt', 'hidden\n');
  fs.symlinkSync(path.join(dir, 'p.txt'), path.join(root, 'link.txt'));
  const s = await scanCorpus([root]);
  assert.deepEqual(
    s.files.map((f) => path.relative(root, f.path)),
    ['C.md', path.join('a', 'y.txt.gz'), path.join('a', 'z.jsonl'), 'b.txt'],
  );
  assert.deepEqual(await texts(s), ['from C', 'from a/y', 'from a/z', 'from b']);
  assert.deepEqual(s.ignored.map((f) => path.basename(f)).sort(), ['link.txt', 'notes.pdf']);
  fs.mkdirSync(path.join(dir, 'empty'));
  await assert.rejects(scanCorpus([path.join(dir, 'empty')]), /the corpus folder .*empty holds no supported file \(\.txt, /);
});

test('corpusDifference names the file that differs', async () => {
  const a = (await scanCorpus([write('d1.txt', 'one\n'), write('d2.txt', 'two\n')])).files;
  const b = (await scanCorpus([path.join(dir, 'd1.txt'), write('d3.jsonl', jsonl(['two']))])).files;
  assert.equal(corpusDifference(a, a), undefined);
  assert.match(corpusDifference(a, b)!, /corpus file 2 is d2\.txt \(text, sha256 [0-9a-f]{12}…\) against d3\.jsonl \(jsonl, field "text", sha256/);
  assert.equal(corpusDifference(a, a.slice(1)), '2 corpus files against 1');
});

test('an index over JSON Lines equals one over the same text, and its header records each file', async () => {
  const planted = plantedForTriggers();
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const txt = write('idx.txt', paragraphs.join('\n\n') + '\n');
    const jl = write('idx.jsonl.gz', zlib.gzipSync(jsonl(paragraphs)));
    const outs = [path.join(dir, 'idx-text'), path.join(dir, 'idx-jsonl')];
    let seen: ScannedCorpus | undefined;
    await buildTriggerIndex(model, { corpus: [txt], out: outs[0], top: 5 });
    await buildTriggerIndex(model, { corpus: [jl], out: outs[1], top: 5, onCorpus: (c) => (seen = c) });
    assert.equal(seen?.files[0].format, 'jsonl.gz');
    const [t, j] = outs.map((o) => openTriggerIndex(o));
    assert.deepEqual(j.triggers(0, 3), t.triggers(0, 3));
    assert.deepEqual(j.info.totals, t.info.totals);
    const f = j.info.corpus[0];
    assert.deepEqual([f.format, f.field, f.skipped, f.bytes], ['jsonl.gz', 'text', 0, fs.statSync(jl).size]);
    assert.match(f.sha256, /^[0-9a-f]{64}$/);
  } finally {
    await model.dispose();
  }
});
