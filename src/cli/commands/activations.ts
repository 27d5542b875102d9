/** `ffn-lens activations`: hook tensors of a text written to safetensors, for Python. */
import { encodeSafetensors, selectHooks, tokensFor, writeFileAtomic } from '../../core';
import { inputText, parse, textOptions, UsageError } from '../args';
import { loadFromArgs, modelOptions } from '../load';
import { processIo, type Io } from '../io';

export const usage = 'activations --model M (--text T | --file F) --hooks PATTERN[,PATTERN…] --out F.safetensors';

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, {
    ...modelOptions,
    ...textOptions,
    hooks: { type: 'string' },
    out: { type: 'string', short: 'o' },
  });
  const text = inputText(values);
  if (!values.hooks) throw new UsageError('--hooks is required, e.g. --hooks "blocks.*.mlp.coeff"');
  if (!values.out) throw new UsageError('--out F.safetensors is required');
  const model = await loadFromArgs(values, io);
  try {
    const hooks = selectHooks(values.hooks as string, model.hookNames);
    const tokens = tokensFor(model, text);
    const ids = tokens.map((t) => t.id);
    const out = await model.run([ids], hooks);
    // the batch dimension is dropped: one text, [T, …] per hook, as the reference files store them
    const tensors = hooks.map((name) => ({ name, shape: out.get(name)!.dims.slice(1), data: out.get(name)!.data }));
    tensors.push({ name: 'input_ids', shape: [ids.length], data: Float32Array.from(ids) });
    const bytes = encodeSafetensors(tensors, { model: model.info.name, model_hash: model.info.hash, hooks: hooks.join(',') });
    writeFileAtomic(values.out as string, [bytes]);
    io.err(`wrote ${hooks.length} hooks × ${ids.length} tokens to ${String(values.out)}\n`);
  } finally {
    await model.dispose();
  }
}
