/**
 * The memory check before a load: the estimate from the budgets, the cgroup taken into
 * account, the refusal's wording, parameters counted from headers alone, and a refused
 * load (core, CLI, the extension's engine worker) that costs nothing and leaves the
 * engine able to load a model that fits.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { estimateLoadMemory, InsufficientMemoryError, loadModel, memoryShortfall, usableBytes, type AvailableMemory } from '../../src/core';
import { checkpointParameters } from '../../src/core/load/memoryEstimate';
import { EngineClient, EngineError } from '../../src/extension/engine';
import { bundleEngineWorker } from '../fixtures/engineWorkerBundle';
import { writeLargeVocabModel } from '../fixtures/largeVocab';
import { OVERSIZED_PARAMETERS, writeOversizedModel } from '../fixtures/oversized';
import { writePlantedModel } from '../fixtures/planted';
import { runCli, tempDir } from '../support';

const GB = 2 ** 30;
const oversized = writeOversizedModel(tempDir());
after(() => fs.rmSync(oversized, { recursive: true, force: true }));

test('the estimate is the budget: 1.3 × fp32 weights + 0.6 GB, 0.45 × + 0.6 GB at int8', () => {
  const llama1b = 1_235_814_400;
  const fp32 = estimateLoadMemory(llama1b, 'fp32');
  assert.equal(fp32.fp32WeightBytes, 4 * llama1b);
  assert.equal(fp32.neededBytes, 1.3 * 4 * llama1b + 0.6 * GB);
  assert.equal(estimateLoadMemory(llama1b, 'int8').neededBytes, 0.45 * 4 * llama1b + 0.6 * GB);
});

test('usable memory is the smaller of the free memory and what the cgroup still allows', () => {
  assert.equal(usableBytes({ freeBytes: 10 * GB, totalBytes: 16 * GB }), 10 * GB);
  assert.equal(usableBytes({ freeBytes: 10 * GB, totalBytes: 16 * GB, cgroupLimitBytes: 8 * GB, cgroupUsageBytes: 3 * GB }), 5 * GB);
  assert.equal(usableBytes({ freeBytes: 2 * GB, totalBytes: 16 * GB, cgroupLimitBytes: 8 * GB, cgroupUsageBytes: 3 * GB }), 2 * GB);
  assert.equal(usableBytes({ freeBytes: 2 * GB, totalBytes: 16 * GB, cgroupLimitBytes: 8 * GB, cgroupUsageBytes: 9 * GB }), 0);
});

test('a load that cannot fit is refused with the need, the free memory and int8 as the way out', () => {
  const e = estimateLoadMemory(3e9, 'fp32'); // 3 B parameters: 15.1 GB at fp32, 5.6 GB at int8
  const laptop: AvailableMemory = { freeBytes: 9 * GB, totalBytes: 16 * GB };
  const why = memoryShortfall('Llama-3.2-3B', e, laptop)!;
  assert.match(why, /^Llama-3\.2-3B needs about 15\.1 GB of memory at fp32 \(3\.00 B parameters\), 9\.0 GB free; try int8 .*about 5\.6 GB\)$/);
  assert.equal(memoryShortfall('Llama-3.2-3B', estimateLoadMemory(3e9, 'int8'), laptop), undefined, 'int8 fits');
  const tight = memoryShortfall('m', estimateLoadMemory(3e9, 'int8'), { freeBytes: 9 * GB, totalBytes: 16 * GB, cgroupLimitBytes: 4 * GB, cgroupUsageBytes: 0 })!;
  assert.match(tight, /needs about 5\.6 GB of memory at int8 .* 4\.0 GB free \(container limit 4\.0 GB\); free some memory or pick a smaller model/);
  assert.match(memoryShortfall('m', e, { freeBytes: 4 * GB, totalBytes: 8 * GB })!, /try int8 .*, and free some memory$/);
});

test('parameters are counted from the safetensors headers alone, sparse 1 TiB file included', () => {
  const m = writeLargeVocabModel({ tokenizer: 'llama3', dModel: 16, nLayers: 1, dFf: 32 }, tempDir());
  const d = m.dModel;
  const expected = m.vocabSize * d + 2 * d + 4 * d * d + 3 * d * m.dFf + d;
  assert.equal(checkpointParameters({ kind: 'hf', dir: m.dir, name: 'm' }), expected);
  assert.equal(checkpointParameters({ kind: 'hf', dir: oversized, name: 'big' }), OVERSIZED_PARAMETERS);
});

test('loading a model that cannot fit fails at once, before reading, with a clear error; the CLI names the override', async () => {
  const t0 = performance.now();
  await assert.rejects(loadModel(oversized, { noCache: true }), (e: Error) => e instanceof InsufficientMemoryError && /needs about 1331\.\d GB of memory at fp32 .* GB free; try int8/.test(e.message));
  assert.ok(performance.now() - t0 < 5000, 'refused from the headers, not after reading 1 TiB');
  const r = await runCli('inspect', '--model', oversized, '--text', 'hello', '--cache', tempDir());
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ffn-lens inspect: .* needs about 1331\.\d GB .*; try int8 .*\(--no-memory-check loads anyway\)\n$/);
});

test('--no-memory-check is accepted by the commands that load a model', async () => {
  const planted = writePlantedModel({ words: ['apple', 'dog'], plants: [{ layer: 0, key: 1, trigger: 'apple', promotes: 'dog' }] });
  const r = await runCli('inspect', '--model', planted.dir, '--text', 'apple', '--no-memory-check', '--json', '-q', '--cache', tempDir());
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).tokens[0].text, 'apple');
});

test('engine worker: a load refused for memory is flagged, and the next load of a model that fits works', async () => {
  const client = new EngineClient(await bundleEngineWorker('memory'), () => undefined);
  try {
    await assert.rejects(client.request('load', { spec: oversized, cacheDir: tempDir() }), (e: Error) => e instanceof EngineError && e.insufficientMemory && /needs about .* GB free; try int8/.test(e.message));
    const planted = writePlantedModel({ words: ['apple', 'dog'], plants: [{ layer: 0, key: 1, trigger: 'apple', promotes: 'dog' }] });
    const progress: string[] = [];
    const info = await client.request('load', { spec: planted.dir, cacheDir: tempDir() }, { onProgress: (p) => progress.push(p.message) });
    assert.equal(info.nLayers, 2);
    assert.match(progress[0] ?? '', /^reading .* 0 \/ 0 MB$/, 'the read phase reports MB');
    const r = await client.request('inspect', { text: 'apple', topK: 1 });
    assert.equal(r.layers[0].positions[0].keys[0], 1, 'the planted memory fires');
    await assert.rejects(client.request('load', { spec: planted.dir + '-missing', cacheDir: tempDir() }), (e: Error) => e instanceof EngineError && !e.insufficientMemory);
    assert.equal((await client.request('load', { spec: planted.dir, cacheDir: tempDir() })).nLayers, 2, 'a failed load of another kind leaves it usable too');
  } finally {
    await client.stop();
  }
});
