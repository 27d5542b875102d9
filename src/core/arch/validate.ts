/**
 * Checks a converted model's tensor shapes against its config, so a config.json that
 * does not describe its weights fails here, naming the tensor, and not inside onnxruntime.
 */
import type { HostTensor } from '../tensor';
import type { CanonicalModel } from './types';

export function validateShapes(m: CanonicalModel): void {
  const c = m.config;
  const expect = (what: string, t: HostTensor | undefined, shape: number[]) => {
    if (t && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
      throw new Error(`checkpoint does not match config.json: ${what} is [${t.shape}], expected [${shape}]`);
    }
  };
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  expect('token embedding', m.embed, [c.vocabSize, c.dModel]);
  if (m.positionEmbed && m.positionEmbed.shape[0] < c.contextSize + c.positionOffset) {
    throw new Error(`checkpoint does not match config.json: ${m.positionEmbed.shape[0]} position embeddings for a context of ${c.contextSize}`);
  }
  m.blocks.forEach((b, l) => {
    const p = `layer ${l}`;
    expect(`${p} q`, b.q.weight, [c.dModel, q]);
    expect(`${p} k`, b.k.weight, [c.dModel, kv]);
    expect(`${p} v`, b.v.weight, [c.dModel, kv]);
    expect(`${p} attention output`, b.o.weight, [q, c.dModel]);
    expect(`${p} keys`, b.up.weight, [c.dModel, c.dFf]);
    expect(`${p} gate`, b.gate?.weight, [c.dModel, c.dFf]);
    expect(`${p} values`, b.down.weight, [c.dFf, c.dModel]);
    for (const [what, n] of [['attention norm', b.attnNorm], ['FFN norm', b.mlpNorm], ['attention post-norm', b.attnPostNorm], ['FFN post-norm', b.mlpPostNorm]] as const) expect(`${p} ${what}`, n?.weight, [c.dModel]);
    const qkWidth = (heads: number) => (c.qkNorm === 'head' ? c.headDim : heads * c.headDim);
    expect(`${p} query norm`, b.qNorm?.weight, [qkWidth(c.nHeads)]);
    expect(`${p} key norm`, b.kNorm?.weight, [qkWidth(c.nKvHeads)]);
  });
  expect('output embedding', m.unembed.weight, [c.dModel, c.vocabSize]);
}
