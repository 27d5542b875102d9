/**
 * Analysis graphs whose large weights are constants of their session rather than inputs:
 * onnxruntime pre-packs a constant MatMul weight once, when the session is created, where
 * a weight fed as an input is packed again on every call. The weights go to a temporary
 * data file in the model's graph folder, which onnxruntime maps, packs and lets go; the
 * files are removed as soon as the session exists, so only the packed copy stays.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempPathFor } from '../io/atomic';
import { BUILDER_VERSION } from './cache';
import type { GraphBuilder, WeightSink } from './builder';
import { DataFileSink } from './dataFile';

/**
 * Builds a graph with its weights written to temporary files in `dir`, and hands the path
 * of its protobuf to `open` (which creates the session); the files are gone when it returns.
 */
export async function openTempGraph<T>(dir: string, build: (sink: WeightSink) => GraphBuilder, open: (onnxPath: string, builder: GraphBuilder) => Promise<T>): Promise<T> {
  const onnx = tempPathFor(path.join(dir, 'ffn-lens-analysis.onnx'));
  const data = tempPathFor(path.join(dir, 'ffn-lens-analysis.onnx.data'));
  try {
    const sink = new DataFileSink(data, path.basename(data));
    let builder: GraphBuilder;
    try {
      builder = build(sink);
    } finally {
      sink.close(false);
    }
    // exclusive, like the data file; the protobuf is small (the weights are external)
    fs.writeFileSync(onnx, Buffer.concat(builder.serialize(BUILDER_VERSION)), { flag: 'wx', mode: 0o644 });
    return await open(onnx, builder);
  } finally {
    fs.rmSync(onnx, { force: true });
    fs.rmSync(data, { force: true });
  }
}
