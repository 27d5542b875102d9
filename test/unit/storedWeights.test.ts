/**
 * Reading a built graph's weights back in the orientations analyses need: Eᵀ read in
 * bands (a matrix larger than one band, so the band seams are crossed), a range of its
 * rows (the value table's vocabulary parts) and one column with its bias element, all
 * equal to the stored matrix read whole.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StoredWeights } from '../../src/core/graph/storedWeights';
import { transpose2d } from '../../src/core/tensor';
import { DataType } from '../../src/core/onnx/model';
import { tempDir } from '../support';

test('stored weights: Eᵀ across read bands and single columns equal the whole matrix', () => {
  // 1,100 × 4,096 fp32 is 17.2 MB, more than one 16 MB band; stored after 8 bytes of something else
  const [d, n] = [1100, 4096];
  const matrix = Float32Array.from({ length: d * n }, (_, i) => Math.sin(i) * (1 + (i % 7)));
  const bias = Float32Array.from({ length: n }, (_, j) => j / 3);
  const file = path.join(tempDir(), 'weights.data');
  fs.writeFileSync(file, Buffer.concat([Buffer.alloc(8), Buffer.from(matrix.buffer), Buffer.from(bias.buffer)]));
  const weights = new StoredWeights(file, [
    { name: 'unembed.weight', dataType: DataType.FLOAT, dims: [d, n], offset: 8, length: matrix.byteLength },
    { name: 'unembed.bias', dataType: DataType.FLOAT, dims: [n], offset: 8 + matrix.byteLength, length: bias.byteLength },
    { name: 'tied.weight', dataType: DataType.FLOAT, dims: [n, d], offset: 8, length: matrix.byteLength, transposed: true },
  ]);
  try {
    const rows = weights.transposed('unembed.weight');
    assert.deepEqual(rows.shape, [n, d]);
    assert.ok(Buffer.from(rows.data.buffer).equals(Buffer.from(transpose2d({ data: matrix, shape: [d, n] }).data.buffer)), 'Eᵀ read in bands');
    // a range of Eᵀ's rows, for a matrix stored [d, n] and for one stored as its transpose
    // (the same bytes read as 4,096 rows of 1,100: a Gemm with transB's weight)
    for (const [name, rowsOf] of [['unembed.weight', rows], ['tied.weight', { data: matrix, shape: [n, d] }]] as const) {
      const [start, end] = [5, 4090];
      const bands = [...weights.transposedBands(name, start, end)];
      assert.ok(bands.length > 1, `${name}: the range crosses a band seam`);
      const joined = Buffer.concat(bands.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
      assert.ok(joined.equals(Buffer.from(rowsOf.data.buffer, rowsOf.data.byteOffset + start * d * 4, (end - start) * d * 4)), `${name}: rows ${start}..${end}`);
    }
    const tied = weights.transposed('tied.weight');
    assert.ok(Buffer.from(tied.data.buffer, tied.data.byteOffset, tied.data.byteLength).equals(Buffer.from(matrix.buffer)), 'a stored transpose read whole');
    assert.throws(() => [...weights.transposedBands('unembed.weight', 10, n + 1)], /rows 10..4097 of "unembed.weight" are outside 0..4096/);
    for (const j of [0, 1, 2047, n - 1]) {
      const column = weights.column('unembed', j);
      assert.deepEqual(Array.from(column.weight), Array.from({ length: d }, (_, i) => matrix[i * n + j]), `column ${j}`);
      assert.equal(column.bias, bias[j]);
    }
  } finally {
    weights.close();
  }
});
