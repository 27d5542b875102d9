/**
 * An ONNX graph under construction. Builders call `op` for computation, `weight` for
 * initializers and `hook` to expose an intermediate tensor as a named graph output:
 * hooks are named in one place (see hooks.ts), like llama.cpp's `cb(cur, name, il)`.
 */
import { DataType, encodeModel, type AttrValue, type Dim, type Initializer, type OnnxGraph, type OnnxNode, type ValueInfo } from '../onnx/model';
import type { HostTensor } from '../tensor';

export const OPSET = 23;

export class GraphBuilder {
  private readonly nodes: OnnxNode[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly inputs: ValueInfo[] = [];
  private readonly outputs: ValueInfo[] = [];
  private readonly hookNames: string[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  private fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(name: string, dataType: DataType, shape: Dim[]): string {
    this.inputs.push({ name, dataType, shape });
    return name;
  }

  /** Registers an fp32 initializer; the name is the tensor's name in the graph. */
  weight(name: string, t: HostTensor): string {
    const d = t.data;
    this.initializers.push({ name, dataType: DataType.FLOAT, dims: t.shape, raw: new Uint8Array(d.buffer, d.byteOffset, d.byteLength) });
    return name;
  }

  constFloat(values: number[], dims: number[] = [values.length]): string {
    return this.weight(this.fresh('const_f'), { data: Float32Array.from(values), shape: dims });
  }

  constInt(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('const_i');
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dataType: DataType.INT64, dims, raw: new Uint8Array(data.buffer) });
    return name;
  }

  op(opType: string, inputs: string[], attrs?: Record<string, AttrValue>, domain?: string): string {
    return this.opMulti(opType, inputs, 1, attrs, domain)[0];
  }

  opMulti(opType: string, inputs: string[], nOutputs: number, attrs?: Record<string, AttrValue>, domain?: string): string[] {
    const name = this.fresh(opType);
    const outputs = Array.from({ length: nOutputs }, (_, i) => `${name}_out${i}`);
    this.nodes.push({ opType, inputs, outputs, name, attrs, domain });
    return outputs;
  }

  /** Exposes `tensor` as the graph output `hookName` and returns the hooked tensor. */
  hook(hookName: string, tensor: string): string {
    this.nodes.push({ opType: 'Identity', inputs: [tensor], outputs: [hookName], name: `hook:${hookName}` });
    this.outputs.push({ name: hookName, dataType: DataType.FLOAT });
    this.hookNames.push(hookName);
    return hookName;
  }

  hooks(): readonly string[] {
    return this.hookNames;
  }

  graph(): OnnxGraph {
    return { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs };
  }

  /** The ONNX model as byte pieces in order; weights are referenced, not copied. */
  serialize(producer: string): Uint8Array[] {
    return encodeModel(this.graph(), [{ domain: '', version: OPSET }], producer);
  }
}
