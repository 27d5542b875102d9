/**
 * An ONNX graph under construction. Builders call `op` for computation, `weight` for
 * initializers and `hook` to expose an intermediate tensor as a named graph output:
 * hooks are named in one place (see hooks.ts), like llama.cpp's `cb(cur, name, il)`.
 */
import { DataType, encodeModel, type AttrValue, type Dim, type ExternalRef, type Initializer, type OnnxGraph, type OnnxNode, type ValueInfo } from '../onnx/model';
import { release, type HostTensor } from '../tensor';
import { kBlocks, quantizeInt8, quantizeRowsInt8, BLOCK, ZERO_POINT, type Precision } from './quantize';

export const OPSET = 23;
/** Domain of onnxruntime's contrib operators (MatMulNBits). */
export const MS_DOMAIN = 'com.microsoft';

/**
 * Receives weight bytes as they are registered, so a graph of any size is never held in
 * memory or in one protobuf (which cannot exceed 2 GB): the ONNX file only points at them.
 */
export interface WeightSink {
  write(bytes: Uint8Array): ExternalRef;
}

/** A weight stored outside the protobuf: what the model's analyses read back. */
export interface StoredTensor {
  name: string;
  dataType: DataType;
  dims: number[];
  offset: number;
  length: number;
  /** Quantized matrices: K before padding to whole blocks. */
  K?: number;
}

export interface BuilderOptions {
  /** Where weights go; without one they are inlined in the protobuf (small graphs only). */
  sink?: WeightSink;
  /** int8: weight matrices of `matmul` become MatMulNBits with 8-bit block-quantized weights. */
  precision?: Precision;
}

const bytesOf = (a: Float32Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly hookNames: string[] = [];
  private readonly producers = new Map<string, OnnxNode>();
  private readonly aliasMap = new Map<string, string>();
  private readonly renamed = new Map<string, string>();
  private readonly stored: StoredTensor[] = [];
  private usesMsDomain = false;
  private counter = 0;

  /** A branch builder shares its parent's name counter, sink and precision. */
  constructor(
    private readonly name: string,
    private readonly parent?: GraphBuilder,
    private readonly opts: BuilderOptions = parent?.opts ?? {},
  ) {}

  get precision(): Precision {
    return this.opts.precision ?? 'fp32';
  }

  private fresh(prefix: string): string {
    const root = this.parent ?? this;
    return `${prefix}_${root.counter++}`;
  }

  input(name: string, dataType: DataType, shape: Dim[]): string {
    this.inputs.push({ name, dataType, shape });
    return name;
  }

  /**
   * Registers an fp32 initializer; the name is the tensor's name in the graph. Weights
   * used inside a branch live in the main graph too: the unembedding MatMul ran about
   * 3× slower with its weight inside the If branch (onnxruntime did not pre-pack it).
   */
  weight(name: string, t: HostTensor): string {
    this.store(name, DataType.FLOAT, t.shape, bytesOf(t.data));
    // on disk now: a lazily read checkpoint tensor need not stay in memory
    release(t);
    return name;
  }

  /** An initializer in the sink when there is one (else inline), recorded for read-back. */
  private store(name: string, dataType: DataType, dims: number[], bytes: Uint8Array, K?: number): void {
    const root = this.parent ?? this;
    const sink = root.opts.sink;
    if (!sink) {
      root.initializers.push({ name, dataType, dims, data: { raw: bytes } });
      return;
    }
    const external = sink.write(bytes);
    root.initializers.push({ name, dataType, dims, data: { external } });
    root.stored.push({ name, dataType, dims, offset: external.offset, length: external.length, ...(K === undefined ? {} : { K }) });
  }

  /**
   * x · W for a weight W [K, N]: a MatMul, or at int8 precision a MatMulNBits over W
   * quantized to 8 bits in blocks of BLOCK along K (named `${name}.q8`, `.scales`, `.zp`).
   * The output is fp32 either way, so everything downstream is unchanged.
   */
  matmul(x: string, name: string, w: HostTensor): string {
    if (this.precision === 'fp32' || w.shape.length !== 2) return this.op('MatMul', [x, this.weight(name, w)]);
    const q = quantizeInt8(w);
    release(w);
    const kb = kBlocks(q.K);
    this.store(`${name}.q8`, DataType.UINT8, [q.N, kb, BLOCK], q.codes, q.K);
    this.store(`${name}.scales`, DataType.FLOAT, [q.N, kb], bytesOf(q.scales));
    this.store(`${name}.zp`, DataType.UINT8, [q.N, kb], q.zeroPoints);
    (this.parent ?? this).usesMsDomain = true;
    return this.op('MatMulNBits', [x, `${name}.q8`, `${name}.scales`, `${name}.zp`], { K: q.K, N: q.N, bits: 8, block_size: BLOCK }, MS_DOMAIN);
  }

  /**
   * Rows `ids` of a table [V, d] (the token embedding). At int8 the table is stored as
   * 8-bit codes with a scale per block of BLOCK values and the rows are dequantized after
   * the Gather, so only the rows a run needs are ever fp32.
   */
  embedding(ids: string, name: string, t: HostTensor): string {
    if (this.precision === 'fp32') return this.op('Gather', [this.weight(name, t), ids]);
    const [V, d] = t.shape;
    const q = quantizeRowsInt8(t);
    release(t);
    const kb = kBlocks(d);
    this.store(`${name}.q8`, DataType.UINT8, [V, kb, BLOCK], q.codes, d);
    this.store(`${name}.scales`, DataType.FLOAT, [V, kb], bytesOf(q.scales));
    const codes = this.op('Cast', [this.op('Gather', [`${name}.q8`, ids])], { to: DataType.FLOAT });
    const scales = this.op('Unsqueeze', [this.op('Gather', [`${name}.scales`, ids]), this.constInt([-1])]);
    const rows = this.op('Mul', [this.op('Sub', [codes, this.constFloat([ZERO_POINT], [])]), scales]);
    // [..., kb, BLOCK] → [..., kb·BLOCK], then drop the padding past d
    const ids3 = this.op('Shape', [ids]);
    const flat = this.op('Reshape', [rows, this.op('Concat', [ids3, this.constInt([kb * BLOCK])], { axis: 0 })]);
    return kb * BLOCK === d ? flat : this.op('Slice', [flat, this.constInt([0]), this.constInt([d]), this.constInt([-1])]);
  }

  /** The weights written to the sink, in order (empty without a sink). */
  storedTensors(): readonly StoredTensor[] {
    return (this.parent ?? this).stored;
  }

  constFloat(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_f');
    this.initializers.push({ name, dataType: DataType.FLOAT, dims, data: { raw: bytesOf(Float32Array.from(values)) } });
    return name;
  }

  constInt(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_i');
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dataType: DataType.INT64, dims, data: { raw: new Uint8Array(data.buffer) } });
    return name;
  }

  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    return this.opMulti(opType, inputs, 1, attrs, domain)[0];
  }

  opMulti(opType: string, inputs: string[], nOutputs: number, attrs?: Record<string, AttrValue>, domain?: string): string[] {
    const name = this.fresh(opType);
    // callers may still hold a tensor's name from before it became a hook
    inputs = inputs.map((i) => this.renamed.get(i) ?? i);
    const outputs = Array.from({ length: nOutputs }, (_, i) => `${name}_out${i}`);
    const node = { opType, inputs, outputs, name, attrs, domain };
    this.nodes.push(node);
    for (const o of outputs) this.producers.set(o, node);
    return outputs;
  }

  /**
   * Exposes `tensor` as the graph output `hookName` and returns the hooked tensor.
   * onnxruntime runs every node whatever is fetched, so a hook must add no node: the
   * producing node's output is renamed instead. A tensor that is already a hook (or a
   * graph input) gets an alias, which the runtime resolves when the hook is fetched.
   */
  hook(hookName: string, tensor: string, dataType = DataType.FLOAT): string {
    tensor = this.renamed.get(tensor) ?? tensor;
    const producer = this.producers.get(tensor);
    if (!producer || this.hookNames.includes(tensor)) {
      this.aliasMap.set(hookName, tensor);
      return tensor;
    }
    producer.outputs = producer.outputs.map((o) => (o === tensor ? hookName : o));
    for (const n of this.nodes) n.inputs = n.inputs.map((i) => (i === tensor ? hookName : i));
    this.renamed.set(tensor, hookName);
    this.producers.delete(tensor);
    this.producers.set(hookName, producer);
    this.outputs.push({ name: hookName, dataType });
    this.hookNames.push(hookName);
    return hookName;
  }

  /** Hook name → the graph output that carries it, for hooks that share a tensor. */
  aliases(): ReadonlyMap<string, string> {
    return this.aliasMap;
  }

  /**
   * Outputs computed only when the bool input `cond` is true (an ONNX If node); when it
   * is false they are empty tensors. For work that only some runs need, since
   * onnxruntime would otherwise run it on every call.
   */
  conditional(cond: string, outputs: { name: string; dataType: DataType }[], build: (branch: GraphBuilder) => string[]): string[] {
    const then = new GraphBuilder(`${this.name}:then`, this);
    const results = build(then);
    results.forEach((r, i) => then.outputs.push({ name: then.op('Identity', [r]), dataType: outputs[i].dataType }));
    const otherwise = new GraphBuilder(`${this.name}:else`, this);
    for (const o of outputs) {
      const empty = otherwise.fresh('empty');
      const bytes = new Uint8Array(0);
      otherwise.initializers.push({ name: empty, dataType: o.dataType, dims: [0], data: { raw: bytes } });
      otherwise.outputs.push({ name: otherwise.op('Identity', [empty]), dataType: o.dataType });
    }
    const names = this.opMulti('If', [cond], outputs.length, { then_branch: { graph: then.graph() }, else_branch: { graph: otherwise.graph() } });
    return names.map((n, i) => this.hook(outputs[i].name, n, outputs[i].dataType));
  }

  hooks(): readonly string[] {
    return this.hookNames;
  }

  graph(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  /** The ONNX model as byte pieces in order; inline weights are referenced, not copied. */
  serialize(producer: string): Uint8Array[] {
    const opsets = [{ domain: '', version: OPSET }, ...(this.usesMsDomain ? [{ domain: MS_DOMAIN, version: 1 }] : [])];
    return encodeModel(this.graph(), opsets, producer);
  }
}
