import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK, dequantizeInt8, kBlocks, quantizeInt8, quantizeRowsInt8, ZERO_POINT } from '../../src/core/graph/quantize';

test('int8 quantization: MatMulNBits layout, per-block scales, error within half a step, padding', () => {
  const K = 2 * BLOCK + 5; // a partial last block
  const N = 3;
  const data = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) data[k * N + n] = Math.sin(k * 7 + n * 13) * (n + 1) * (k === 40 ? 10 : 1);
  const q = quantizeInt8({ data, shape: [K, N] });
  const kb = kBlocks(K);
  assert.equal(kb, 3);
  assert.equal(q.codes.length, N * kb * BLOCK);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < kb; b++) {
      let max = 0;
      for (let k = b * BLOCK; k < Math.min(K, (b + 1) * BLOCK); k++) max = Math.max(max, Math.abs(data[k * N + n]));
      assert.equal(q.scales[n * kb + b], Math.fround(max / 127), `scale of column ${n}, block ${b}`);
    }
    // padding past K codes zero
    for (let k = K; k < kb * BLOCK; k++) assert.equal(q.codes[n * kb * BLOCK + k], ZERO_POINT);
  }
  const back = dequantizeInt8(q);
  assert.deepEqual(back.shape, [K, N]);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      const step = q.scales[n * kb + Math.floor(k / BLOCK)];
      assert.ok(Math.abs(back.data[k * N + n] - data[k * N + n]) <= step / 2 + 1e-7, `(${k}, ${n})`);
    }
  }
  // an outlier coarsens only its own block
  assert.ok(q.scales[1 * kb + 1] > 5 * q.scales[1 * kb + 0]);
  // zeros stay exactly zero
  const z = quantizeInt8({ data: new Float32Array(BLOCK * 2), shape: [BLOCK, 2] });
  assert.ok(dequantizeInt8(z).data.every((v) => v === 0));
});

test('int8 rows (embedding tables): the codes and scales of quantizing the transpose, row-major', () => {
  const V = 5;
  const d = BLOCK + 7;
  const data = Float32Array.from({ length: V * d }, (_, i) => Math.cos(i * 1.7) * (1 + (i % 11)));
  const transposed = new Float32Array(V * d);
  for (let v = 0; v < V; v++) for (let j = 0; j < d; j++) transposed[j * V + v] = data[v * d + j];
  const rows = quantizeRowsInt8({ data, shape: [V, d] });
  const cols = quantizeInt8({ data: transposed, shape: [d, V] });
  assert.deepEqual([...rows.codes], [...cols.codes]);
  assert.deepEqual([...rows.scales], [...cols.scales]);
});
