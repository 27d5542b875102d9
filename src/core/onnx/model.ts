/**
 * ONNX ModelProto serialisation for the graphs FFN Lens builds. Field numbers follow
 * onnx/onnx.proto; only the parts a forward graph needs are written.
 */
import { ProtoWriter } from './protobuf';

export enum DataType {
  FLOAT = 1,
  UINT8 = 2,
  INT8 = 3,
  INT32 = 6,
  INT64 = 7,
  BOOL = 9,
}

export type AttrValue = number | string | number[] | { ints: number[] } | { float: number } | { graph: OnnxGraph };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attrs?: Record<string, AttrValue>;
}

/** Where an initializer's bytes live in the external-data file beside the model. */
export interface ExternalRef {
  /** File name relative to the model's folder. */
  location: string;
  offset: number;
  length: number;
}

export interface Initializer {
  name: string;
  dataType: DataType;
  dims: number[];
  /** Little-endian raw bytes of the tensor, in the protobuf; or where they are outside it. */
  data: { raw: Uint8Array } | { external: ExternalRef };
}

/** A dimension is a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  dataType: DataType;
  /** Omitted: rank and sizes unknown (hook outputs, whose shapes ORT infers). */
  shape?: Dim[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: Initializer[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

/** IR version 11 is the one that goes with opset 23. */
const IR_VERSION = 11;

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_GRAPH = 5;
const ATTR_INTS = 7;

function encodeAttribute(name: string, value: AttrValue): ProtoWriter {
  const a = new ProtoWriter().string(1, name);
  if (typeof value === 'string') {
    a.bytes(4, new TextEncoder().encode(value)).int(20, ATTR_STRING);
  } else if (typeof value === 'number') {
    // Plain numbers are ints: every float attribute is spelled { float } so a whole
    // number like epsilon=1 cannot silently become an int.
    a.int(3, value).int(20, ATTR_INT);
  } else if (Array.isArray(value)) {
    a.packedInts(8, value).int(20, ATTR_INTS);
  } else if ('ints' in value) {
    a.packedInts(8, value.ints).int(20, ATTR_INTS);
  } else if ('graph' in value) {
    a.message(6, encodeGraph(value.graph)).int(20, ATTR_GRAPH);
  } else {
    a.float(2, value.float).int(20, ATTR_FLOAT);
  }
  return a;
}

function encodeNode(node: OnnxNode): ProtoWriter {
  const n = new ProtoWriter();
  for (const i of node.inputs) n.string(1, i);
  for (const o of node.outputs) n.string(2, o);
  n.string(3, node.name).string(4, node.opType);
  for (const [k, v] of Object.entries(node.attrs ?? {})) n.message(5, encodeAttribute(k, v));
  if (node.domain) n.string(7, node.domain);
  return n;
}

/** TensorProto.DataLocation.EXTERNAL */
const EXTERNAL = 1;

function encodeInitializer(t: Initializer): ProtoWriter {
  const p = new ProtoWriter().packedInts(1, t.dims).int(2, t.dataType).string(8, t.name);
  if ('raw' in t.data) return p.bytes(9, t.data.raw);
  // external_data: StringStringEntryProto { key = 1, value = 2 }
  const { location, offset, length } = t.data.external;
  for (const [k, v] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) p.message(13, new ProtoWriter().string(1, k).string(2, v));
  return p.int(14, EXTERNAL);
}

function encodeValueInfo(v: ValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().int(1, v.dataType);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      const dim = new ProtoWriter();
      if (typeof d === 'number') dim.int(1, d);
      else dim.string(2, d);
      shape.message(1, dim);
    }
    tensorType.message(2, shape);
  }
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function encodeGraph(graph: OnnxGraph): ProtoWriter {
  const g = new ProtoWriter();
  for (const n of graph.nodes) g.message(1, encodeNode(n));
  g.string(2, graph.name);
  for (const t of graph.initializers) g.message(5, encodeInitializer(t));
  for (const i of graph.inputs) g.message(11, encodeValueInfo(i));
  for (const o of graph.outputs) g.message(12, encodeValueInfo(o));
  return g;
}

/** The serialised ModelProto as pieces in order (join them, or stream them to a file). */
export function encodeModel(graph: OnnxGraph, opsets: OpsetImport[], producer: string): Uint8Array[] {
  const g = encodeGraph(graph);
  const m = new ProtoWriter().int(1, IR_VERSION).string(2, producer);
  for (const o of opsets) m.message(8, new ProtoWriter().string(1, o.domain).int(2, o.version));
  m.message(7, g);
  return m.chunks();
}
