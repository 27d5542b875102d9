/**
 * No 2 GiB walls: a checkpoint file and a graph larger than 2 GiB. Both are sparse files
 * (holes read as zeros), so the tests cost seconds and no disk; what they prove is that
 * every offset past 2^31 is honoured and nothing reads a whole file into one buffer, not
 * that gigabytes of non-zero weights convert correctly (bench:scale runs those).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GraphBuilder, type WeightSink } from '../../src/core/graph/builder';
import { openCheckpoint } from '../../src/core/load/checkpoint';
import { SafetensorsFile, toBfloat16 } from '../../src/core/load/safetensors';
import { DataType, type ExternalRef } from '../../src/core/onnx/model';
import { ModelSession } from '../../src/core/runtime/session';
import { tempDir } from '../support';

const GiB = 2 ** 30;

/** A safetensors file with a zero (hole) tensor of `holeBytes` between two small bf16 tensors. */
function sparseSafetensors(file: string, holeBytes: number, head: Float32Array, tail: Float32Array): void {
  const header: Record<string, unknown> = {
    head: { dtype: 'BF16', shape: [head.length], data_offsets: [0, 2 * head.length] },
    hole: { dtype: 'F32', shape: [holeBytes / 4], data_offsets: [2 * head.length, 2 * head.length + holeBytes] },
    tail: { dtype: 'BF16', shape: [tail.length], data_offsets: [2 * head.length + holeBytes, 2 * head.length + holeBytes + 2 * tail.length] },
  };
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const dataStart = 8 + json.length;
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, Buffer.concat([prefix, json]), 0, dataStart, 0);
  fs.writeSync(fd, toBfloat16(head), 0, 2 * head.length, dataStart);
  fs.writeSync(fd, toBfloat16(tail), 0, 2 * tail.length, dataStart + 2 * head.length + holeBytes);
  fs.closeSync(fd);
}

test('safetensors: a checkpoint file over 2 GiB is read tensor by tensor, bf16 converted per tensor', () => {
  const dir = tempDir();
  const file = path.join(dir, 'model.safetensors');
  const head = Float32Array.from([1, -2, 0.5]);
  const tail = Float32Array.from([3, -0.25, 1024, 7]);
  sparseSafetensors(file, 2 * GiB + 4096, head, tail);
  assert.ok(fs.statSync(file).size > 2 * GiB);
  const rssBefore = process.memoryUsage().rss;
  const f = SafetensorsFile.open(file);
  try {
    assert.deepEqual([...f.get('head').data], [...head]);
    assert.deepEqual([...f.get('tail').data], [...tail], 'a tensor past 2 GiB');
    assert.deepEqual(f.get('tail').shape, [4]);
  } finally {
    f.close();
  }
  assert.ok(process.memoryUsage().rss - rssBefore < 256 * 2 ** 20, 'the file was not read whole');

  // a sharded checkpoint whose shard is that file: the store is lazy, reading only what is asked
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  const ck = openCheckpoint(dir);
  try {
    const t = ck.weights.get('tail');
    assert.deepEqual(t.shape, [4]);
    assert.deepEqual([...t.data], [...tail]);
  } finally {
    ck.weights.close();
  }
});

test('safetensors: special files are refused without reading (a FIFO would block forever)', (t) => {
  const dir = tempDir();
  const fifo = path.join(dir, 'model.safetensors');
  try {
    execFileSync('mkfifo', [fifo]);
  } catch {
    t.skip('mkfifo not available');
    return;
  }
  assert.throws(() => SafetensorsFile.open(fifo), /cannot read .*model.safetensors: ENOTREG/);
  assert.throws(() => SafetensorsFile.open(dir), /cannot read .*: EISDIR/);
  assert.throws(() => SafetensorsFile.open('/dev/zero'), /ENOTREG/);
});

/** A sink that leaves a hole for the big all-zero tensor instead of writing it. */
class SparseSink implements WeightSink {
  size = 0;
  constructor(private readonly file: string, private readonly fd = fs.openSync(file, 'w')) {}
  write(bytes: Uint8Array): ExternalRef {
    const offset = Math.ceil(this.size / 4096) * 4096;
    if (bytes.byteLength < GiB) fs.writeSync(this.fd, bytes, 0, bytes.byteLength, offset);
    this.size = offset + bytes.byteLength;
    return { location: path.basename(this.file), offset, length: bytes.byteLength };
  }
  close(): void {
    fs.ftruncateSync(this.fd, this.size);
    fs.closeSync(this.fd);
  }
}

test('graphs: a graph with more than 2 GiB of weights loads (external data; protobuf stays small)', async () => {
  const dir = tempDir();
  const sink = new SparseSink(path.join(dir, 'big.onnx.data'));
  const g = new GraphBuilder('big', undefined, { sink });
  const ids = g.input('ids', DataType.INT64, ['n']);
  // 2 GiB + 64 KiB of zeros (calloc'd, never touched): rows of 4 floats
  const rows = (2 * GiB + 65536) / 16;
  const table = g.weight('table', { data: new Float32Array(rows * 4), shape: [rows, 4] });
  const bias = g.weight('bias', { data: Float32Array.from([1, 2, 3, 4]), shape: [4] });
  g.hook('y', g.op('Add', [g.op('Gather', [table, ids]), bias]));
  sink.close();
  const onnx = Buffer.concat(g.serialize('test'));
  assert.ok(onnx.byteLength < 4096, `protobuf is ${onnx.byteLength} bytes`);
  const [, biasRef] = g.storedTensors();
  assert.ok(biasRef.offset > 2 * GiB, 'a weight stored past 2^31');
  fs.writeFileSync(path.join(dir, 'big.onnx'), onnx);
  assert.ok(fs.statSync(path.join(dir, 'big.onnx.data')).size > 2 * GiB);

  const s = await ModelSession.create(path.join(dir, 'big.onnx'), { nLayers: 0, aliases: {} });
  try {
    const out = await s.runFeeds({ ids: BigInt64Array.of(0n, BigInt(rows - 1)) }, ['y']);
    assert.deepEqual([...out.get('y')!.data], [1, 2, 3, 4, 1, 2, 3, 4]);
  } finally {
    await s.dispose();
  }
});
