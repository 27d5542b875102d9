/**
 * Analyses that mean "what the FFN adds to the residual" read it as such in families with
 * a norm after the FFN (Gemma 2/3, OLMo 2), where that is not the down projection's output:
 * checked against resid_post − resid_mid, which is that contribution by definition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hookName, layerPredictions, loadModel, type Model } from '../../src/core';
import { computeValueTable } from '../../src/core/analysis/valueTable';
import { positionStatistics, type ResidualOutcome } from '../../src/core/analysis/statistics/positions';
import { VocabProjector } from '../../src/core/analysis/vocab';
import { sharedOrSkip, tempDir } from '../support';

const IDS = Array.from({ length: 40 }, (_, i) => (i * 149 + 7) % 512);

/** Top-1 lens token (final norm, then E) of each row of every layer's [T, d] rows: [layer][position]. */
async function lensTops(model: Model, rows: (l: number) => Float32Array): Promise<number[][]> {
  const projector = await VocabProjector.for(model);
  const d = model.config.dModel;
  const tops: number[][] = [];
  for (let l = 0; l < model.config.nLayers; l++) {
    const x = rows(l);
    tops.push(Array.from((await projector.project({ data: x, shape: [x.length / d, d] }, 1, { finalNorm: true })).top.ids));
  }
  return tops;
}

/** Lens tops of resid_mid, resid_post, mlp.out and of the residual's increment resid_post − resid_mid. */
async function referenceTops(model: Model) {
  const L = model.config.nLayers;
  const names = Array.from({ length: L }, (_, l) => (['resid_mid', 'resid_post', 'mlp.out'] as const).map((k) => hookName(l, k))).flat();
  const out = await model.run([IDS], names);
  const get = (l: number, kind: 'resid_mid' | 'resid_post' | 'mlp.out') => out.get(hookName(l, kind))!.data;
  return {
    mid: await lensTops(model, (l) => get(l, 'resid_mid')),
    post: await lensTops(model, (l) => get(l, 'resid_post')),
    down: await lensTops(model, (l) => get(l, 'mlp.out')),
    added: await lensTops(model, (l) => get(l, 'resid_post').map((v, i) => v - get(l, 'resid_mid')[i])),
  };
}

for (const arch of ['gemma2', 'olmo2']) {
  test(`${arch}: the logit lens of the FFN and the residual-vs-FFN statistic read what the residual receives`, async (t) => {
    const dir = sharedOrSkip(t, 'conformance', arch);
    if (!dir) return;
    const model = await loadModel(dir, { cacheDir: tempDir() });
    try {
      const ref = await referenceTops(model);
      const L = model.config.nLayers;
      const positions = IDS.map((_, i) => i);
      // the post-FFN norm must change some top token here, or this test could not tell the hooks apart
      const differ = positions.filter((p) => ref.down.some((row, l) => row[p] !== ref.added[l][p]));
      assert.ok(differ.length > 0, `${arch}: mlp.out and the residual's increment share every top token`);

      for (const p of differ.slice(0, 3)) {
        const layers = await layerPredictions(model, IDS, p, 1);
        assert.deepEqual(layers.map((x) => x.ffn[0].id), ref.added.map((row) => row[p]), `position ${p}: layerPredictions' ffn is what the residual receives`);
      }

      const table = await computeValueTable(model, { finalNorm: true, k: 1, noCache: true });
      const stats = await positionStatistics(model, table, [{ paragraph: 0, window: 0, ids: IDS, positions }]);
      for (let l = 0; l < L; l++) {
        const want: Record<ResidualOutcome, number> = { agree: 0, residual: 0, ffn: 0, neither: 0 };
        for (const p of positions) {
          const [res, ffn, out] = [ref.mid[l][p], ref.added[l][p], ref.post[l][p]];
          const outcome: ResidualOutcome = res === ffn ? (out === res ? 'agree' : 'neither') : out === res ? 'residual' : out === ffn ? 'ffn' : 'neither';
          want[outcome] += 1 / positions.length;
        }
        for (const o of Object.keys(want) as ResidualOutcome[]) assert.ok(Math.abs(stats.residual[l].outcomes[o] - want[o]) < 1e-9, `layer ${l} ${o}: ${stats.residual[l].outcomes[o]} vs ${want[o]}`);
      }
    } finally {
      await model.dispose();
    }
  });
}
