/**
 * The graph's candidate filter (blocks.{l}.mlp.candidates), which the trigger index scans
 * instead of the full coefficients: it must equal a JavaScript filter of those coefficients
 * exactly, row for row and bit for bit, whatever the floors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateHook, hookName, loadModel, type Intervention, type Model } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { writePlantedGatedModel } from '../fixtures/plantedGated';
import { rng, WORDS } from '../fixtures/plantedCorpus';
import { sharedOrSkip, tempDir } from '../support';

/** Per key: −∞, one of the key's own coefficients (an exact tie), or a value in their range. */
function randomFloors(model: Model, coeffs: Float32Array[], seed: number): Float32Array[] {
  const r = rng(seed);
  const dFf = model.config.dFf;
  return coeffs.map((data) => {
    const floors = new Float32Array(dFf);
    const tokens = data.length / dFf;
    for (let k = 0; k < dFf; k++) {
      const pick = r();
      const some = data[Math.floor(r() * tokens) * dFf + k];
      floors[k] = pick < 0.1 ? -Infinity : pick < 0.5 ? some : some + (r() - 0.5) * Math.abs(some);
    }
    return floors;
  });
}

/**
 * The filter written out: (batch, position, key, coeff) for every coeff ≥ its key's floor,
 * or (a gated model's signed filter) ≤ its key's ceiling, row-major.
 */
function filterInJs(data: Float32Array, dims: number[], floor: Float32Array | undefined, ceiling?: Float32Array): number[] {
  const [, seq, dFf] = dims;
  const rows: number[] = [];
  const at = (b: Float32Array | undefined, key: number) => (b === undefined ? -Infinity : b.length === 1 ? b[0] : b[key]);
  for (let i = 0; i < data.length; i++) {
    const key = i % dFf;
    const token = (i - key) / dFf;
    if (data[i] >= at(floor, key) || data[i] <= at(ceiling, key)) rows.push(Math.floor(token / seq), token % seq, key, data[i]);
  }
  return rows;
}

/** Runs `ids` for full coefficients and for candidates with `floors` (and ceilings); asserts they agree. Returns the candidate counts. */
async function assertCandidatesMatch(model: Model, ids: number[][], floors?: Float32Array[], interventions: Intervention[] = [], ceilings?: Float32Array[]): Promise<number[]> {
  const layers = Array.from({ length: model.config.nLayers }, (_, l) => l);
  const full = await model.run(ids, layers.map((l) => hookName(l, 'mlp.coeff')), interventions);
  const got = await model.run(ids, layers.map(candidateHook), interventions, { ...(floors && { candidateFloors: floors }), ...(ceilings && { candidateCeilings: ceilings }) });
  return layers.map((l) => {
    const c = full.get(hookName(l, 'mlp.coeff'))!;
    const want = filterInJs(c.data, c.dims, floors?.[l], ceilings?.[l]);
    const cand = got.get(candidateHook(l))!;
    assert.deepEqual(cand.dims, [want.length / 4, 4], `layer ${l}: shape`);
    assert.deepEqual(Array.from(cand.data), want, `layer ${l}: rows`);
    return want.length / 4;
  });
}

test('candidates equal a JavaScript filter of the coefficients on planted models (blocks of 1, 4 and 64 keys)', async () => {
  for (const dFf of [7, 12, 128]) {
    const planted = writePlantedModel({ words: WORDS, dFf, plants: [{ layer: 0, key: 3, trigger: 'cat', promotes: 'sat' }, { layer: 1, key: 5, trigger: 'dog', promotes: 'ran' }] });
    const model = await loadModel(planted.dir, { noCache: true });
    try {
      const r = rng(dFf);
      // the planted triggers ("cat", "dog") come up often among 16 words
      const ids = Array.from({ length: 3 }, () => Array.from({ length: 11 }, () => Math.floor(r() * model.config.vocabSize)));
      const full = await model.run(ids, [hookName(0, 'mlp.coeff'), hookName(1, 'mlp.coeff')]);
      const coeffs = [0, 1].map((l) => full.get(hookName(l, 'mlp.coeff'))!.data);
      // an unplanted key's coefficient is the same at every token, so a floor keeps all or
      // none of it; the planted keys' vary
      const counts: number[] = [];
      for (let seed = 1; seed <= 4; seed++) counts.push(...(await assertCandidatesMatch(model, ids, randomFloors(model, coeffs, seed * 100 + dFf))));
      assert.ok(counts.some((n) => n > 0 && n < ids.length * 11 * dFf), `dFf ${dFf}: some floors keep some candidates, not all (${counts})`);
      // no floors: every coefficient; one floor broadcast over the keys
      assert.deepEqual(await assertCandidatesMatch(model, ids), [ids.length * 11 * dFf, ids.length * 11 * dFf]);
      await assertCandidatesMatch(model, ids, [Float32Array.of(0.5), Float32Array.of(Infinity)]);
      // the filter sees the patched coefficients
      const patch: Intervention[] = [{ layer: 1, key: 2, mode: 'set', value: 100, positions: [4] }];
      const patched = await assertCandidatesMatch(model, ids, [Float32Array.of(Infinity), Float32Array.of(50)], patch);
      assert.deepEqual(patched, [0, ids.length]);
      await assert.rejects(model.run(ids, [candidateHook(0)], [], { candidateFloors: [new Float32Array(dFf)] }), /2 layers/);
      await assert.rejects(model.run(ids, [candidateHook(0)], [], { candidateFloors: [new Float32Array(2), new Float32Array(dFf)] }), /one per key/);
    } finally {
      await model.dispose();
    }
  }
});

test('a gated model filters both sides: candidates ≥ the floor or ≤ the ceiling equal a JavaScript filter', async () => {
  const dir = tempDir();
  const planted = writePlantedGatedModel({ words: WORDS, dFf: 12, plants: [{ layer: 0, key: 2, trigger: 'dog', promotes: 'ran', sign: -1 }] }, dir);
  const model = await loadModel(planted.dir, { noCache: true });
  try {
    const r = rng(9);
    const ids = Array.from({ length: 3 }, () => Array.from({ length: 11 }, () => Math.floor(r() * model.config.vocabSize)));
    const full = await model.run(ids, [hookName(0, 'mlp.coeff'), hookName(1, 'mlp.coeff')]);
    const coeffs = [0, 1].map((l) => full.get(hookName(l, 'mlp.coeff'))!.data);
    const total = ids.length * 11 * 12;
    const counts: number[] = [];
    for (let seed = 1; seed <= 4; seed++) {
      const floors = randomFloors(model, coeffs, seed);
      const ceilings = randomFloors(model, coeffs, seed + 50);
      counts.push(...(await assertCandidatesMatch(model, ids, floors, [], ceilings)));
    }
    assert.ok(counts.some((n) => n > 0 && n < total), `some bounds keep some candidates, not all (${counts})`);
    // without ceilings the signed graph filters on the floor alone; a ceiling of +∞ keeps everything
    await assertCandidatesMatch(model, ids, [Float32Array.of(0.01), Float32Array.of(0.01)]);
    assert.deepEqual(await assertCandidatesMatch(model, ids, [Float32Array.of(Infinity), Float32Array.of(Infinity)], [], [Float32Array.of(Infinity), Float32Array.of(-Infinity)]), [total, 0]);
    // the planted key's m ≈ −16 on "dog" is what a ceiling of −10 keeps
    const dog = planted.idOf('dog');
    const kept = await model.run(ids, [candidateHook(0)], [], { candidateFloors: [Float32Array.of(Infinity), Float32Array.of(Infinity)], candidateCeilings: [Float32Array.of(-10), Float32Array.of(-10)] });
    const rows = kept.get(candidateHook(0))!.data;
    assert.equal(rows.length / 4, ids.flat().filter((id) => id === dog).length);
    for (let i = 0; i < rows.length; i += 4) assert.deepEqual([ids[rows[i]][rows[i + 1]], rows[i + 2]], [dog, 2]);
  } finally {
    await model.dispose();
  }
  // an ungated model's graph takes no ceilings
  const ungated = await loadModel(writePlantedModel({ words: WORDS, dFf: 4, plants: [] }).dir, { noCache: true });
  try {
    await assert.rejects(ungated.run([[1, 2]], [candidateHook(0)], [], { candidateCeilings: [Float32Array.of(0), Float32Array.of(0)] }), /not gated/);
  } finally {
    await ungated.dispose();
  }
});

test('gpt2-books: candidates equal a JavaScript filter of the coefficients', async (t) => {
  const spec = sharedOrSkip(t, 'models', 'gpt2-books');
  if (!spec) return;
  const model = await loadModel(spec);
  try {
    const r = rng(7);
    const ids = Array.from({ length: 2 }, () => Array.from({ length: 40 }, () => Math.floor(r() * model.config.vocabSize)));
    const layers = Array.from({ length: model.config.nLayers }, (_, l) => l);
    const full = await model.run(ids, layers.map((l) => hookName(l, 'mlp.coeff')));
    const coeffs = layers.map((l) => full.get(hookName(l, 'mlp.coeff'))!.data);
    for (const seed of [1, 2]) {
      const counts = await assertCandidatesMatch(model, ids, randomFloors(model, coeffs, seed));
      assert.ok(counts.every((n) => n > 0 && n < coeffs[0].length));
    }
  } finally {
    await model.dispose();
  }
});
