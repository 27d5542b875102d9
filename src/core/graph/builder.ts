/**
 * An ONNX graph under construction. Builders call `op` for computation, `weight` for
 * initializers and `hook` to expose an intermediate tensor as a named graph output:
 * hooks are named in one place (see hooks.ts), like llama.cpp's `cb(cur, name, il)`.
 */
import { DataType, encodeModel, type AttrValue, type Dim, type ExternalRef, type Initializer, type OnnxGraph, type OnnxNode, type ValueInfo } from '../onnx/model';
import { release, transposedSource, type HostTensor } from '../tensor';
import { kBlocks, quantizeInt8, quantizeRowsInt8, BLOCK, ZERO_POINT, type Int8Weight, type Precision } from './quantize';

export const OPSET = 23;
/** Domain of onnxruntime's contrib operators (MatMulNBits). */
export const MS_DOMAIN = 'com.microsoft';

/**
 * Receives weight bytes as they are registered, so a graph of any size is never held in
 * memory or in one protobuf (which cannot exceed 2 GB): the ONNX file only points at them.
 */
export interface WeightSink {
  /** Appends bytes; `continues` places them right after the previous write (a weight written in bands). */
  write(bytes: Uint8Array, continues?: boolean): ExternalRef;
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
  /** An fp32 matrix stored as its transpose [dims] (read by a Gemm with transB). */
  transposed?: boolean;
}

/**
 * The most fp32 bytes one MatMulNBits may expand its weight to: onnxruntime's 8-bit
 * kernel with float accuracy dequantizes the whole weight on every call, which for a
 * 128k-token unembedding is a 1 GB buffer, so wider weights are split along N.
 */
export const DEQUANT_BYTES = 64 << 20;

/** Columns per MatMulNBits part: whole multiples of 1024, so every part's bytes start page-aligned. */
export function partColumns(K: number, N: number): number {
  if (4 * K * N <= DEQUANT_BYTES) return N;
  return Math.min(N, Math.max(1024, Math.floor(DEQUANT_BYTES / (4 * K) / 1024) * 1024));
}

/** Where an initializer's bytes went, so later initializers can reference them (or a range of them). */
type Placed = Initializer['data'];

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
  private readonly placed = new Map<string, Placed>();
  /** Embedding tables already in the graph, by the tensor they were made of (for tied unembeddings). */
  private readonly tables = new Map<HostTensor, string>();
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

  /** The main graph, which holds every weight and the name counter, however deep a branch is nested. */
  private get root(): GraphBuilder {
    let g: GraphBuilder = this;
    while (g.parent) g = g.parent;
    return g;
  }

  private fresh(prefix: string): string {
    return `${prefix}_${this.root.counter++}`;
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

  /**
   * An fp32 initializer [dims] written band by band (rows of it, in order) to the sink, so
   * a weight of any size reaches the data file without ever being held whole.
   */
  weightBands(name: string, dims: number[], bands: Iterable<Float32Array>): string {
    const sink = this.root.opts.sink;
    if (!sink) throw new Error(`weight "${name}" is written in bands, which needs a weight sink`);
    let first: ExternalRef | undefined;
    let length = 0;
    for (const band of bands) {
      const at = sink.write(bytesOf(band), first !== undefined);
      first ??= at;
      length += at.length;
    }
    const expected = dims.reduce((a, b) => a * b, 1) * 4;
    if (!first || length !== expected) throw new Error(`weight "${name}": ${length} bytes written for dims [${dims.join(', ')}]`);
    this.root.placed.set(name, { external: { ...first, length } });
    this.declare(name, DataType.FLOAT, dims, name);
    return name;
  }

  /** An initializer in the sink when there is one (else inline), recorded for read-back. */
  private store(name: string, dataType: DataType, dims: number[], bytes: Uint8Array, extra: Pick<StoredTensor, 'K' | 'transposed'> = {}): void {
    this.place(name, dataType, dims, bytes, extra);
    this.declare(name, dataType, dims, name);
  }

  /** Writes bytes to the sink (or keeps them for inlining) and records them, without an initializer. */
  private place(name: string, dataType: DataType, dims: number[], bytes: Uint8Array, extra: Pick<StoredTensor, 'K' | 'transposed'> = {}): void {
    const root = this.root;
    const sink = root.opts.sink;
    if (!sink) {
      root.placed.set(name, { raw: bytes });
      return;
    }
    const external = sink.write(bytes);
    root.placed.set(name, { external });
    root.stored.push({ name, dataType, dims, offset: external.offset, length: external.length, ...extra });
  }

  /**
   * The initializer `name` over bytes already placed as `of`, or `length` bytes of them from
   * `start`: a second name for the same bytes, written once (the parts of a split weight, a
   * tied unembedding reading the embedding's table).
   */
  private declare(name: string, dataType: DataType, dims: number[], of: string, start = 0, length?: number): void {
    const root = this.root;
    const at = root.placed.get(of)!;
    let data: Placed;
    if ('raw' in at) data = { raw: at.raw.subarray(start, length === undefined ? undefined : start + length) };
    else data = { external: { ...at.external, offset: at.external.offset + start, length: length ?? at.external.length - start } };
    root.initializers.push({ name, dataType, dims, data });
  }

  /** Places `name` at the bytes of `of` (read back as `dims`, with `extra`): nothing is written. */
  private alias(name: string, of: string, dims: number[], extra: Pick<StoredTensor, 'K' | 'transposed'>): void {
    const root = this.root;
    root.placed.set(name, root.placed.get(of)!);
    const t = root.stored.find((s) => s.name === of);
    if (t) root.stored.push({ ...t, name, dims, ...extra });
  }

  /**
   * x · W for a weight W [K, N]: a MatMul, or at int8 precision a MatMulNBits over W
   * quantized to 8 bits in blocks of BLOCK along K (named `${name}.q8`, `.scales`, `.zp`).
   * The output is fp32 either way, so everything downstream is unchanged.
   */
  matmul(x: string, name: string, w: HostTensor): string {
    if (this.precision === 'fp32' || w.shape.length !== 2) return this.op('MatMul', [x, this.weight(name, w)]);
    const [K, N] = w.shape;
    const kb = kBlocks(K);
    // W = Sᵀ (a torch Linear, a tied embedding): S's rows are W's columns, so quantizing
    // S's rows gives W's codes without making the transposed copy
    const source = transposedSource(w);
    const table = source && this.root.tables.get(source);
    if (table) {
      // a tied unembedding: the embedding's codes and scales are already its codes and scales
      this.alias(`${name}.q8`, `${table}.q8`, [N, kb, BLOCK], { K });
      this.alias(`${name}.scales`, `${table}.scales`, [N, kb], {});
    } else {
      const q: Int8Weight = source ? quantizeRowsInt8(source) : quantizeInt8(w);
      release(source ?? w);
      this.place(`${name}.q8`, DataType.UINT8, [N, kb, BLOCK], q.codes, { K });
      this.place(`${name}.scales`, DataType.FLOAT, [N, kb], bytesOf(q.scales));
    }
    // explicit zero points (all ZERO_POINT), so no operator default is relied on
    this.place(`${name}.zp`, DataType.UINT8, [N, kb], new Uint8Array(N * kb).fill(ZERO_POINT));
    this.root.usesMsDomain = true;
    const part = partColumns(K, N);
    const parts: string[] = [];
    for (let n0 = 0; n0 < N; n0 += part) {
      const n = Math.min(part, N - n0);
      const suffix = part === N ? '' : `.part${n0 / part}`;
      const [q8, scales, zp] = ['q8', 'scales', 'zp'].map((s) => `${name}.${s}${suffix}`);
      this.declare(q8, DataType.UINT8, [n, kb, BLOCK], `${name}.q8`, n0 * kb * BLOCK, n * kb * BLOCK);
      this.declare(scales, DataType.FLOAT, [n, kb], `${name}.scales`, n0 * kb * 4, n * kb * 4);
      this.declare(zp, DataType.UINT8, [n, kb], `${name}.zp`, n0 * kb, n * kb);
      parts.push(this.op('MatMulNBits', [x, q8, scales, zp], { K, N: n, bits: 8, block_size: BLOCK }, MS_DOMAIN));
    }
    return parts.length === 1 ? parts[0] : this.op('Concat', parts, { axis: -1 });
  }

  /**
   * x · W for rows x [n, K] (2-D). A W that is the transpose of a checkpoint tensor S (a
   * torch Linear's [out, in], a tied embedding) is stored as S and read by a Gemm with
   * transB, so the transposed copy is never made, and a tied unembedding is the
   * embedding's own bytes under a second name. At int8 it is `matmul`.
   */
  matmulRows(x: string, name: string, w: HostTensor): string {
    const source = transposedSource(w);
    if (this.precision !== 'fp32' || !source) return this.matmul(x, name, w);
    const table = this.root.tables.get(source);
    if (table) {
      this.alias(name, table, source.shape, { transposed: true });
      this.declare(name, DataType.FLOAT, source.shape, name);
    } else {
      this.store(name, DataType.FLOAT, source.shape, bytesOf(source.data), { transposed: true });
      release(source);
    }
    return this.op('Gemm', [x, name], { transB: 1 });
  }

  /**
   * Rows `ids` of a table [V, d] (the token embedding). At int8 the table is stored as
   * 8-bit codes with a scale per block of BLOCK values and the rows are dequantized after
   * the Gather, so only the rows a run needs are ever fp32.
   */
  embedding(ids: string, name: string, t: HostTensor): string {
    this.root.tables.set(t, name);
    if (this.precision === 'fp32') return this.op('Gather', [this.weight(name, t), ids]);
    const [V, d] = t.shape;
    const q = quantizeRowsInt8(t);
    release(t);
    const kb = kBlocks(d);
    this.store(`${name}.q8`, DataType.UINT8, [V, kb, BLOCK], q.codes, { K: d });
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
    return this.root.stored;
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

  /**
   * An ONNX Scan over axis 0 of `xs` (fp32): `body` maps one slice (of shape `slice`) to
   * fp32 outputs of the shapes `outputs` (onnxruntime needs every rank), which come back
   * stacked along a new axis 0. Work per slice is bounded by the slice, whatever the
   * length of `xs`.
   */
  scan(xs: string, slice: Dim[], outputs: Dim[][], body: (b: GraphBuilder, slice: string) => string[]): string[] {
    const b = new GraphBuilder(`${this.name}:scan`, this);
    const results = body(b, b.input(b.fresh('slice'), DataType.FLOAT, slice));
    results.forEach((r, i) => b.outputs.push({ name: b.op('Identity', [r]), dataType: DataType.FLOAT, shape: outputs[i] }));
    return this.opMulti('Scan', [xs], outputs.length, { body: { graph: b.graph() }, num_scan_inputs: 1 });
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
