/**
 * Special files where FFN Lens expects model files or text: a FIFO, or /dev/zero behind a
 * symlink, is refused at once (no hang, no unbounded read), and a link planted in an
 * output folder is never written through.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildTriggerIndex, indexedCorpus, LabelFileError, loadModel, openTriggerIndex, readLabels } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { plantedForTriggers, randomParagraphs, writeCorpus } from '../fixtures/plantedCorpus';
import { runCli, tempDir } from '../support';

const mkfifo = (file: string) => execFileSync('mkfifo', [file]);

/** Rejects within `ms`: a hang fails the test instead of stalling the suite. */
async function rejectsSoon(p: Promise<unknown>, pattern: RegExp, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (a hang)`)), ms)));
  try {
    await assert.rejects(Promise.race([p, hang]), pattern);
  } finally {
    clearTimeout(timer);
  }
}

for (const name of ['model.safetensors', 'config.json', 'tokenizer.json']) {
  test(`${name} as a symlink to /dev/zero or as a FIFO: refused at once`, async () => {
    for (const special of ['/dev/zero', 'fifo']) {
      const planted = writePlantedModel({ words: ['red', 'blue'], plants: [] }, tempDir());
      const file = path.join(planted.dir, name);
      fs.rmSync(file);
      if (special === 'fifo') mkfifo(file);
      else fs.symlinkSync(special, file);
      const kind = special === 'fifo' ? /a FIFO/ : /a character device/;
      await rejectsSoon(loadModel(planted.dir, { cacheDir: tempDir(), noCache: true }), new RegExp(`${name.replace('.', '\\.')} is (${kind.source}).*not a regular file`));
    }
  });
}

test('a llama2.c checkpoint as a FIFO: refused at once', async () => {
  const dir = tempDir();
  mkfifo(path.join(dir, 'model.bin'));
  fs.writeFileSync(path.join(dir, 'tok512.bin'), Buffer.alloc(16));
  await rejectsSoon(loadModel(path.join(dir, 'model.bin'), { cacheDir: tempDir() }), /llama2\.c checkpoint .*model\.bin is a FIFO/);
});

test('--file as /dev/zero, a FIFO or invalid UTF-8: a usage error naming the file', async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'text.fifo');
  mkfifo(fifo);
  const zero = path.join(dir, 'zero.txt');
  fs.symlinkSync('/dev/zero', zero);
  const latin1 = path.join(dir, 'latin1.txt');
  fs.writeFileSync(latin1, Buffer.from('caf\xe9 au lait', 'latin1'));
  for (const [file, why] of [[zero, /a character device/], [fifo, /a FIFO/], [latin1, /not valid UTF-8 \(first bad byte at offset 3\)/]] as const) {
    const r = await runCli('inspect', '--file', file, '--model', '/nonexistent-model');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    assert.ok(r.stderr.includes(file));
  }
});

const model = plantedForTriggers();
const modelP = loadModel(model.dir, { noCache: true });
after(async () => (await modelP).dispose());

test('index: a corpus file that is a FIFO or /dev/zero is refused before anything is written', async () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'corpus.fifo');
  mkfifo(fifo);
  const zero = path.join(dir, 'zero.txt');
  fs.symlinkSync('/dev/zero', zero);
  for (const corpus of [fifo, zero]) {
    const out = path.join(dir, 'out');
    await rejectsSoon(buildTriggerIndex(await modelP, { corpus: [corpus], out }), /not a regular file/);
    assert.ok(!fs.existsSync(out));
  }
});

test('index: a tokens.spool symlink planted in --out is replaced, never followed; on resume it is refused', async () => {
  const dir = tempDir();
  const corpus = writeCorpus(dir, 'c.txt', randomParagraphs(30, 7));
  const victim = path.join(dir, 'victim.txt');
  fs.writeFileSync(victim, 'precious');
  const out = path.join(dir, 'out');
  fs.mkdirSync(out);
  fs.symlinkSync(victim, path.join(out, 'tokens.spool'));
  await buildTriggerIndex(await modelP, { corpus: [corpus], out, poolTokens: 20 });
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
  assert.deepEqual(fs.readdirSync(out), ['triggers.idx']);

  // a checkpoint whose spool has been swapped for a link
  const out2 = path.join(dir, 'out2');
  const controller = new AbortController();
  await assert.rejects(buildTriggerIndex(await modelP, { corpus: [corpus], out: out2, poolTokens: 20, signal: controller.signal, onProgress: () => controller.abort() }), /cancelled/);
  fs.rmSync(path.join(out2, 'tokens.spool'));
  fs.symlinkSync(victim, path.join(out2, 'tokens.spool'));
  await assert.rejects(buildTriggerIndex(await modelP, { corpus: [corpus], out: out2, resume: true }), /tokens\.spool is a symbolic link; FFN Lens will not write through it/);
  assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
});

test('index: a damaged spool is noticed when the run resumes, before any work', async () => {
  const dir = tempDir();
  const corpus = writeCorpus(dir, 'c.txt', randomParagraphs(60, 8));
  const out = path.join(dir, 'out');
  const controller = new AbortController();
  let reports = 0;
  const stopSecond = () => ++reports === 2 && controller.abort();
  await assert.rejects(buildTriggerIndex(await modelP, { corpus: [corpus], out, poolTokens: 20, signal: controller.signal, onProgress: stopSecond }), /cancelled/);
  const spool = path.join(out, 'tokens.spool');
  const bytes = fs.readFileSync(spool);
  assert.ok(bytes.length > 16);
  bytes[bytes.length - 2] ^= 0x01; // one token id changed
  fs.writeFileSync(spool, bytes);
  let progressed = false;
  await assert.rejects(buildTriggerIndex(await modelP, { corpus: [corpus], out, resume: true, onProgress: () => (progressed = true) }), /tokens\.spool is damaged \(its checksum does not match the checkpoint\)/);
  assert.ok(!progressed, 'refused before indexing anything');
  assert.ok(fs.existsSync(path.join(out, 'checkpoint.bin')), 'the checkpoint is kept');
});

test('a labels file that is a FIFO or /dev/zero: a LabelFileError, no hang', () => {
  const dir = tempDir();
  const fifo = path.join(dir, 'labels.json');
  mkfifo(fifo);
  assert.throws(() => readLabels(fifo), (e: Error) => e instanceof LabelFileError && /is a FIFO/.test(e.message));
  const zero = path.join(dir, 'zero.json');
  fs.symlinkSync('/dev/zero', zero);
  assert.throws(() => readLabels(zero), /is a character device/);
});

test('report: the corpus an index names is used only while it is the same file (sha256)', async () => {
  const dir = tempDir();
  const corpus = writeCorpus(dir, 'c.txt', randomParagraphs(20, 9));
  const out = path.join(dir, 'out');
  const model = await modelP;
  await buildTriggerIndex(model, { corpus: [corpus], out });
  const info = openTriggerIndex(out, model).info;
  assert.deepEqual(await indexedCorpus(info.corpus), [corpus]);
  fs.appendFileSync(corpus, '\nthe dog ran home\n');
  await assert.rejects(indexedCorpus(info.corpus), /corpus files the trigger index names are not those it was built from \(corpus file 1 is c\.txt .*\); give the corpus explicitly/);
  fs.rmSync(corpus);
  fs.symlinkSync('/dev/zero', corpus);
  await rejectsSoon(indexedCorpus(info.corpus), /not a regular file/);
});
