import type { HostTensor } from '../tensor';

/**
 * Named checkpoint tensors, converted to fp32 on demand. Names are the checkpoint's own
 * (Hugging Face names; the llama2.c loader maps its tensors to HF llama names).
 */
export interface WeightStore {
  names(): string[];
  has(name: string): boolean;
  /** The tensor as fp32; throws a clear error naming the tensor when it is missing. */
  get(name: string): HostTensor;
}

/** A WeightStore over tensors already in memory. */
export class MemoryWeightStore implements WeightStore {
  constructor(private readonly tensors: Map<string, HostTensor>, private readonly source: string) {}
  names(): string[] {
    return [...this.tensors.keys()];
  }
  has(name: string): boolean {
    return this.tensors.has(name);
  }
  get(name: string): HostTensor {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.source}: tensor "${name}" is missing from the checkpoint`);
    return t;
  }
}
