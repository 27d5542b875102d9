/** Active memories: coefficient above the threshold, or |coefficient| for gated FFNs (whose m < 0 half the time). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookName, inspect, loadModel } from '../../src/core';
import { activeTest } from '../../src/core/analysis/active';
import { sharedOrSkip, tempDir } from '../support';

test('the active test: signed for ungated FFNs, by magnitude for gated ones', () => {
  assert.equal(activeTest({ gated: false })(-2, 1), false);
  assert.equal(activeTest({ gated: true })(-2, 1), true);
  assert.equal(activeTest({ gated: true })(0.5, 1), false);
});

test('inspect counts a gated model’s negative coefficients as active (stories260K, a Llama)', async (t) => {
  const dir = sharedOrSkip(t, 'models', 'stories260K', 'stories260K.bin');
  if (!dir) return;
  const m = await loadModel(dir, { cacheDir: tempDir() });
  try {
    assert.ok(m.config.gated);
    const r = await inspect(m, 'Once upon a time there was a little girl', { threshold: 0.01 });
    const ids = r.tokens.map((x) => x.id);
    const coeff = (await m.run([ids], [hookName(0, 'mlp.coeff')])).get(hookName(0, 'mlp.coeff'))!;
    const dFf = m.config.dFf;
    let negatives = 0;
    for (let p = 0; p < ids.length; p++) {
      const row = coeff.data.subarray(p * dFf, (p + 1) * dFf);
      assert.equal(r.layers[0].positions[p].active, row.filter((c) => Math.abs(c) > 0.01).length);
      negatives += row.filter((c) => c < -0.01).length;
    }
    assert.ok(negatives > 0, 'the reference model has negative coefficients to count');
  } finally {
    await m.dispose();
  }
});

test('inspect lists a gated model’s strongest memories by |coefficient|, negative ones included (stories260K)', async (t) => {
  const dir = sharedOrSkip(t, 'models', 'stories260K', 'stories260K.bin');
  if (!dir) return;
  const m = await loadModel(dir, { cacheDir: tempDir() });
  try {
    const k = 10;
    const r = await inspect(m, 'Once upon a time there was a little girl', { topK: k });
    const ids = r.tokens.map((x) => x.id);
    const hooks = Array.from({ length: m.config.nLayers }, (_, l) => hookName(l, 'mlp.coeff'));
    const out = await m.run([ids], hooks);
    const dFf = m.config.dFf;
    let negativeListed = 0;
    hooks.forEach((h, l) => {
      const coeff = out.get(h)!.data;
      for (let p = 0; p < ids.length; p++) {
        const row = Array.from(coeff.subarray(p * dFf, (p + 1) * dFf));
        // brute force: the k-th largest magnitude bounds every listed memory from below
        const kth = row.map(Math.abs).sort((a, b) => b - a)[k - 1];
        const top = r.layers[l].positions[p].top;
        assert.equal(top.length, k);
        for (const hit of top) {
          assert.equal(hit.coeff, coeff[p * dFf + hit.key]);
          assert.ok(Math.abs(hit.coeff) >= kth);
        }
        negativeListed += top.filter((hit) => hit.coeff < 0).length;
      }
    });
    assert.ok(negativeListed > 0, 'some of the strongest memories have negative coefficients');
  } finally {
    await m.dispose();
  }
});
