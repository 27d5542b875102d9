/**
 * Cache entries (protobuf + external data + record) are used only when whole: every kind
 * of damage a crash, a full disk or a bad sector leaves behind means a rebuild with the
 * same results, never a corrupt graph handed to onnxruntime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel, type LoadProgress } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { tempDir } from '../support';

const planted = writePlantedModel({ words: ['apple', 'banana', 'dog'], plants: [{ layer: 1, key: 3, trigger: 'apple', promotes: 'dog' }] });

async function load(cacheDir: string): Promise<{ built: boolean; logits: number[]; values: number[] }> {
  const seen: LoadProgress[] = [];
  const m = await loadModel(planted.dir, { cacheDir, onProgress: (p) => seen.push(p) });
  try {
    const out = await m.run([[1, 2, 3]], ['logits']);
    return { built: seen.some((p) => p.stage === 'build'), logits: [...out.get('logits')!.data], values: [...m.values(1).data] };
  } finally {
    await m.dispose();
  }
}

const entryFile = (cacheDir: string, ext: string): string => {
  const dir = path.join(cacheDir, 'graphs');
  const f = fs.readdirSync(dir).find((n) => n.endsWith(ext));
  assert.ok(f, `a cache file ending in ${ext}`);
  return path.join(dir, f);
};

const damages: [string, (cacheDir: string) => void][] = [
  ['external data truncated (disk full)', (c) => fs.truncateSync(entryFile(c, '.onnx.data'), 1000)],
  ['one weight byte flipped', (c) => {
    const f = entryFile(c, '.onnx.data');
    const fd = fs.openSync(f, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, 4096 + 5);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, 4096 + 5);
    fs.closeSync(fd);
  }],
  ['external data missing', (c) => fs.rmSync(entryFile(c, '.onnx.data'))],
  ['record missing (crash before the entry was complete)', (c) => fs.rmSync(entryFile(c, '.json'))],
  ['record not JSON', (c) => fs.writeFileSync(entryFile(c, '.json'), '{"info":')],
  ['protobuf replaced', (c) => fs.writeFileSync(entryFile(c, '.onnx'), 'garbage')],
];

test('graph cache: a damaged or partial entry is detected and rebuilt, with identical results', async () => {
  const cacheDir = tempDir();
  const first = await load(cacheDir);
  assert.equal(first.built, true);
  const cached = await load(cacheDir);
  assert.equal(cached.built, false, 'an intact entry is used');
  assert.deepEqual(cached.logits, first.logits);
  for (const [what, damage] of damages) {
    damage(cacheDir);
    const again = await load(cacheDir);
    assert.equal(again.built, true, `${what}: rebuilt`);
    assert.deepEqual(again.logits, first.logits, `${what}: same logits`);
    assert.deepEqual(again.values, first.values, `${what}: same value vectors`);
    assert.equal((await load(cacheDir)).built, false, `${what}: the rebuilt entry is used next time`);
  }
});

test('graph cache: an unwritable cache still loads (into a private folder, removed on dispose)', async () => {
  const file = path.join(tempDir(), 'not-a-dir');
  fs.writeFileSync(file, '');
  const m = await loadModel(planted.dir, { cacheDir: file });
  const out = await m.run([[1, 2]], ['logits']);
  assert.equal(out.get('logits')!.dims[2], m.config.vocabSize);
  await m.dispose();
});

test('graph cache: fp32 and int8 graphs of one checkpoint are separate entries', async () => {
  const cacheDir = tempDir();
  await load(cacheDir);
  const m = await loadModel(planted.dir, { cacheDir, precision: 'int8' });
  assert.equal(m.info.precision, 'int8');
  await m.dispose();
  const records = fs.readdirSync(path.join(cacheDir, 'graphs')).filter((f) => f.endsWith('.json'));
  assert.deepEqual(records.map((f) => f.replace(/^.*-/, '')).sort(), ['fp32.json', 'int8.json']);
});
