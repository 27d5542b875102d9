import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeSafetensors, parseHeader, SafetensorsFile, toFloat32 } from '../../src/core/load/safetensors';

const valid = () => encodeSafetensors([
  { name: 'a', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
  { name: 'b', shape: [2], data: Float32Array.from([-1, 0.5]) },
]);

/** A file whose JSON header is replaced by `header` (data block kept). */
function withHeader(header: unknown, data = new Uint8Array(32)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('safetensors: encode → parse round-trips names, shapes and values', () => {
  const f = SafetensorsFile.fromBytes(valid(), 'mem');
  assert.deepEqual([...f.entries.keys()], ['a', 'b']);
  assert.deepEqual(f.get('a').shape, [2, 3]);
  assert.deepEqual([...f.get('a').data], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...f.get('b').data], [-1, 0.5]);
});

test('safetensors: F16 and BF16 convert exactly', () => {
  // 1.0, -2.0, 65504 (max half), 2^-24 (smallest subnormal)
  const half = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]);
  assert.deepEqual([...toFloat32(new Uint8Array(half.buffer), 'F16')], [1, -2, 65504, 2 ** -24]);
  const bf = Uint16Array.from([0x3f80, 0xc040]); // 1.0, -3.0
  assert.deepEqual([...toFloat32(new Uint8Array(bf.buffer), 'BF16')], [1, -3]);
});

test('safetensors: every kind of corruption is a clear error, never a read past the buffer', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['too short', new Uint8Array(4), /too short/],
    ['header longer than file', (() => { const b = valid().slice(0, 40); return b; })(), /exceeds the file size/],
    ['not JSON', (() => { const b = valid(); b[10] = 0x7b; b[11] = 0x7b; return b; })(), /not JSON/],
    ['unknown dtype', withHeader({ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }), /unsupported dtype/],
    ['offsets outside data', withHeader({ a: { dtype: 'F32', shape: [16], data_offsets: [0, 64] } }), /outside the 32-byte data block/],
    ['shape/bytes mismatch', withHeader({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }), /= 12 bytes but spans 16/],
    ['overlap', withHeader({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } }), /overlap/],
    ['negative shape', withHeader({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }), /invalid shape/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => parseHeader(bytes, 'x.safetensors'), (e: Error) => message.test(e.message) && e.message.includes('x.safetensors'), what);
  }
});

test('safetensors: a missing file is a clear error', () => {
  assert.throws(() => SafetensorsFile.open('/nonexistent/model.safetensors'), /cannot read \/nonexistent\/model.safetensors: ENOENT/);
});
