/**
 * Direct logit attribution: the planted memory explains the planted prediction; on every
 * reference architecture the component scores add up to the logits Hugging Face computed
 * and each layer's memories add up to its FFN's score; switching a last-layer memory off
 * changes the logit by its score (gpt2-books); a model the decomposition does not describe
 * is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { attribute, AttributionError, checkByAblation, loadModel, rankMemories, SafetensorsFile, tracePosition, type Attribution, type Model } from '../../src/core';
import { checkDecomposition } from '../../src/core/analysis/attribution/trace';
import { writePlantedModel } from '../fixtures/planted';
import { sharedOrSkip, tempDir } from '../support';

const planted = writePlantedModel({
  words: ['apple', 'banana', 'cherry', 'dog', 'egg'],
  plants: [
    { layer: 1, key: 3, trigger: 'apple', promotes: 'dog' },
    { layer: 0, key: 6, trigger: 'banana', promotes: 'egg' },
  ],
});
const cacheDir = tempDir();

let shared: Model | undefined;
const plantedModel = async () => (shared ??= await loadModel(planted.dir, { noCache: true }));
test.after(async () => shared?.dispose());

const sum = (xs: Iterable<number>) => {
  let s = 0;
  for (const x of xs) s += x;
  return s;
};

/** Σ components = logit, and per layer Σ memories + output bias = the FFN's score. */
function assertAddsUp(a: Attribution, expectedLogit: number, tol: number, what: string): void {
  const total = sum(a.components.map((c) => c.score));
  assert.ok(Math.abs(total - expectedLogit) <= tol, `${what}: components sum to ${total}, logit is ${expectedLogit}`);
  a.memoryScores.forEach((scores, layer) => {
    const ffn = a.components.find((c) => c.kind === 'mlp' && c.layer === layer)!.score;
    const memories = sum(scores) + a.ffnBias[layer];
    assert.ok(Math.abs(memories - ffn) <= tol, `${what}: layer ${layer} memories + bias = ${memories}, FFN scores ${ffn}`);
  });
}

test('the planted memory is the top reason for the planted prediction', async () => {
  const m = await plantedModel();
  const ids = m.tokenizer.encode('cherry apple');
  const trace = await tracePosition(m, ids, 1);
  const a = attribute(m, trace, { top: 3 });
  assert.equal(a.target.text, 'dog', 'the model predicts the planted token after its trigger');
  assert.deepEqual([a.memories[0].layer, a.memories[0].key], [1, 3]);
  assert.ok(a.memories[0].score > 0 && a.memories[0].coeff > 0);
  assert.ok(a.components.find((c) => c.name === 'L1.mlp')!.score > a.logit / 2, 'the FFN of layer 1 carries most of the logit');
  assertAddsUp(a, trace.logits[a.target.id], 1e-4, 'planted');

  // against a contrast the planted memory still leads, and the contrast's own trigger memory does not fire
  const c = attribute(m, trace, { target: planted.idOf('dog'), contrast: planted.idOf('egg'), top: 5 });
  assert.equal(c.contrast?.text, 'egg');
  assert.ok(Math.abs(c.logit - (trace.logits[planted.idOf('dog')] - trace.logits[planted.idOf('egg')])) < 1e-6);
  assert.deepEqual([c.memories[0].layer, c.memories[0].key], [1, 3]);
  assertAddsUp(c, c.logit, 1e-4, 'planted with contrast');
  assert.ok(Math.abs(c.memoryScores[0][6]) < 1e-3 * Math.abs(c.memories[0].score), 'the banana memory is silent on apple');

  // supporting and opposing lists are signed views of the same scores
  const support = rankMemories(trace, c.memoryScores, { k: 3, order: 'support' });
  assert.ok(support.every((s) => s.score > 0));
  assert.ok(rankMemories(trace, c.memoryScores, { k: 3, order: 'oppose' }).every((s) => s.score < 0));
});

test('bad targets, contrasts and positions are refused clearly', async () => {
  const m = await plantedModel();
  const ids = m.tokenizer.encode('cherry apple');
  await assert.rejects(tracePosition(m, ids, 2), /position 2 is outside 0\.\.1/);
  const trace = await tracePosition(m, ids, 1);
  assert.throws(() => attribute(m, trace, { target: 999 }), AttributionError);
  assert.throws(() => attribute(m, trace, { target: 3, contrast: 3 }), /contrast token is the target itself/);
});

test('a trace the decomposition does not reproduce is refused, not misread', async () => {
  const m = await plantedModel();
  const trace = await tracePosition(m, m.tokenizer.encode('cherry apple'), 1);
  // as if the logits passed through something the readout does not model (a scale, a cap)
  const capped = { ...trace, logits: trace.logits.map((x) => 2 * Math.tanh(x / 2)) };
  assert.throws(() => attribute(m, capped), /cannot describe gpt2 \(gpt2\) exactly yet.*readout\.ts/);
  // as if a norm or multiplier sat after a branch: the parts no longer add up to the residual
  const scaled = { ...trace, resid: trace.resid.map((x) => 1.5 * x) };
  assert.throws(() => checkDecomposition(m, scaled), /not the sum of the embeddings, attention and FFN outputs/);
  assert.doesNotThrow(() => checkDecomposition(m, trace));
});

// every reference family, including a norm after the FFN (gemma2, gemma3, olmo2), residual and
// logit multipliers (granite) and final soft-capping (gemma2: the pre-cap logit is explained)
const ARCHS = ['gpt2', 'gpt_neox', 'opt', 'llama', 'qwen2', 'gemma', 'phi', 'llama3', 'mistral_swa', 'qwen3', 'gemma2', 'gemma3', 'phi3', 'olmo2', 'smollm3', 'starcoder2', 'gpt_bigcode', 'granite', 'gpt_neo', 'gptj'];
for (const arch of ARCHS) {
  test(`attribution adds up to the reference logits: ${arch}`, async (t) => {
    const dir = sharedOrSkip(t, 'conformance', arch);
    if (!dir) return;
    const ref = SafetensorsFile.open(path.join(dir, 'reference.safetensors'));
    const ids = ref.getInt64('long.input_ids').map(Number);
    const logits = ref.get('long.logits').data;
    const m = await loadModel(dir, { cacheDir });
    try {
      const V = m.config.vocabSize;
      const cap = m.config.finalSoftcap;
      const logit = (i: number) => (cap ? cap * Math.atanh(logits[i] / cap) : logits[i]);
      for (const position of [0, 17, ids.length - 1]) {
        const trace = await tracePosition(m, ids, position);
        const a = attribute(m, trace);
        assert.equal(a.note !== null, Boolean(cap), 'a soft-capped logit is said to be the pre-cap one');
        assertAddsUp(a, logit(position * V + a.target.id), 1e-3, `${arch} @${position}`);
        const c = attribute(m, trace, { target: 5, contrast: 7 });
        assertAddsUp(c, logit(position * V + 5) - logit(position * V + 7), 1e-3, `${arch} @${position} 5 vs 7`);
      }
    } finally {
      await m.dispose();
    }
  });
}

test('gpt2-books: switching a last-layer memory off changes the logit by its score', async (t) => {
  const dir = sharedOrSkip(t, 'models', 'gpt2-books');
  if (!dir) return;
  const m = await loadModel(dir, { cacheDir });
  try {
    const ids = m.tokenizer.encode('The old man walked slowly down to the harbour, where the fishing boats were');
    const trace = await tracePosition(m, ids, ids.length - 1);
    const a = attribute(m, trace, { top: 20 });
    assertAddsUp(a, trace.logits[a.target.id], 2e-3, 'gpt2-books');
    const last = m.config.nLayers - 1;
    const top = rankMemories(trace, a.memoryScores, { k: 5, layer: last });
    assert.equal(top.length, 5);
    for (const check of await checkByAblation(m, trace, a, top)) {
      const gap = Math.abs(check.actual - check.predicted);
      assert.ok(gap <= 0.1 * Math.abs(check.predicted) + 0.02, `L${check.layer}/${check.key}: predicted ${check.predicted.toFixed(4)}, actual ${check.actual.toFixed(4)}`);
    }
  } finally {
    await m.dispose();
  }
});

test('CLI attribute: JSON in the documented shape, memories by |score|, ablation beside the score', async () => {
  const { runCli } = await import('../support');
  const r = await runCli('attribute', '--model', planted.dir, '--cache', cacheDir, '--text', 'cherry apple', '--contrast', 'egg', '--top', '4', '--check', '2', '--json', '-q');
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.position, 1);
  assert.deepEqual(j.target, { id: planted.idOf('dog'), text: 'dog' });
  assert.deepEqual(j.contrast, { id: planted.idOf('egg'), text: 'egg' });
  assert.ok(Math.abs(sum(j.components.map((c: { score: number }) => c.score)) - j.logit) < 1e-4);
  assert.equal(j.memories.length, 4);
  assert.deepEqual([j.memories[0].layer, j.memories[0].key], [1, 3]);
  for (let i = 1; i < j.memories.length; i++) assert.ok(Math.abs(j.memories[i - 1].score) >= Math.abs(j.memories[i].score));
  assert.ok(j.memories[0].ablation && !j.memories[2].ablation, 'the top --check memories carry their ablation');
  assert.ok(Math.abs(j.memories[0].ablation.predicted + j.memories[0].score) < 1e-9);

  const human = await runCli('attribute', '--model', planted.dir, '--cache', cacheDir, '--text', 'cherry apple', '--position', '1', '-q');
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /logit of "dog"/);
  assert.match(human.stdout, /switched off/);

  const twoTokens = await runCli('attribute', '--model', planted.dir, '--cache', cacheDir, '--text', 'cherry apple', '--target', 'dog egg', '-q');
  assert.equal(twoTokens.code, 1);
  assert.match(twoTokens.stderr, /is 2 tokens \("dog", "egg"\)/);
  const both = await runCli('attribute', '--model', planted.dir, '--cache', cacheDir, '--text', 'cherry apple', '--target', 'dog', '--target-id', '3', '-q');
  assert.equal(both.code, 2);
  const far = await runCli('attribute', '--model', planted.dir, '--cache', cacheDir, '--text', 'cherry apple', '--position', '5', '-q');
  assert.equal(far.code, 2);
  assert.match(far.stderr, /--position 5 is outside 0\.\.1/);
});
