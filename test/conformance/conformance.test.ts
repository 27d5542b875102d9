/**
 * Every architecture against the Hugging Face reference tensors in
 * shared/conformance/<arch> and test/fixtures/conformance-rope/<name> (the scaled rope
 * types, made by scripts/make-rope-fixtures.py): logits, final norm, residuals, FFN
 * input, coefficients and output, and the same pass with the reference intervention applied.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hookName, loadModel, SafetensorsFile, type Intervention, type LayerHookKind } from '../../src/core';
import { sharedOrSkip, tempDir } from '../support';

const TOLERANCE = 1e-4;
const ARCHS = ['gpt2', 'gpt_neox', 'opt', 'llama', 'qwen2', 'gemma', 'phi', 'llama3', 'mistral_swa', 'qwen3', 'gemma2', 'gemma3', 'phi3', 'olmo2', 'smollm3', 'starcoder2', 'gpt_bigcode', 'granite', 'gpt_neo', 'gptj'];
/** Reference sets kept in the repository: linear, dynamic, YaRN and LongRoPE rotary embeddings. */
const ROPE_FIXTURES = path.join(__dirname, '..', 'fixtures', 'conformance-rope');
const CASES = ['one', 'short', 'long'];
/** Reference tensor name (after CASE.L{l}.) → our hook kind. */
const LAYER_REFS: Record<string, LayerHookKind> = { resid_pre: 'resid_pre', resid_post: 'resid_post', mlp_in: 'mlp.in', coeff: 'mlp.coeff', mlp_out: 'mlp.out' };

/**
 * OPT's FFN flattens [batch, seq, d] to [batch·seq, d], so the reference generator's
 * "drop the batch dimension" kept only the first position of mlp_in, coeff and mlp_out
 * for OPT. Such a one-row reference is compared with our first row.
 */
function maxAbsDiff(ours: Float32Array, ref: Float32Array, seq: number): number {
  const a = ref.length * seq === ours.length && seq > 1 ? ours.subarray(0, ref.length) : ours;
  const b = ref;
  assert.equal(a.length, b.length, `tensor sizes differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/**
 * One meaning for the branch hooks in every family: attn.out and mlp.out_post are what the
 * two branches add to the residual stream (after any post norm or multiplier), so
 * resid_mid = resid_pre + attn.out and resid_post = resid_mid + mlp.out_post.
 */
async function checkBranchHooks(model: Awaited<ReturnType<typeof loadModel>>, ids: number[]): Promise<void> {
  for (let l = 0; l < model.config.nLayers; l++) {
    const names = (['resid_pre', 'attn.out', 'resid_mid', 'mlp.out_post', 'resid_post'] as const).map((k) => hookName(l, k));
    const out = await model.run([ids], names);
    const [pre, attn, mid, ffn, post] = names.map((n) => out.get(n)!.data);
    const sum = (a: Float32Array, b: Float32Array) => a.map((v, i) => v + b[i]);
    assert.ok(maxAbsDiff(sum(pre, attn), mid, ids.length) <= 1e-5, `layer ${l}: resid_mid = resid_pre + attn.out`);
    assert.ok(maxAbsDiff(sum(mid, ffn), post, ids.length) <= 1e-5, `layer ${l}: resid_post = resid_mid + mlp.out_post`);
  }
}

const cacheDir = tempDir();

/** Every reference set: its name and where it is (undefined after skipping the test when it is absent). */
const REFERENCES: { arch: string; locate: (t: TestContext) => string | undefined }[] = [
  ...ARCHS.map((arch) => ({ arch, locate: (t: TestContext) => sharedOrSkip(t, 'conformance', arch) })),
  ...fs.readdirSync(ROPE_FIXTURES).map((name) => ({ arch: name, locate: () => path.join(ROPE_FIXTURES, name) })),
];

for (const { arch, locate } of REFERENCES) {
  test(`conformance: ${arch} matches transformers on every reference tensor (≤ ${TOLERANCE})`, async (t) => {
    const dir = locate(t);
    if (!dir) return;
    const ref = SafetensorsFile.open(path.join(dir, 'reference.safetensors'));
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'reference.json'), 'utf8')) as { intervention: [number, number, number][] };
    const interventions: Intervention[] = spec.intervention.map(([layer, key, value]) => ({ layer, key, mode: 'set', value }));
    const model = await loadModel(dir, { cacheDir });
    let worst = { diff: 0, name: '' };
    try {
      for (const c of CASES) {
        const ids = ref.getInt64(`${c}.input_ids`).map(Number);
        // reference name → our hook name, for every tensor this case has
        const plain = new Map<string, string>([[`${c}.logits`, 'logits'], [`${c}.final_norm`, 'final_norm']]);
        const intervened = new Map<string, string>([[`${c}.intervened.logits`, 'logits']]);
        for (let l = 0; l < model.config.nLayers; l++) {
          for (const [suffix, kind] of Object.entries(LAYER_REFS)) plain.set(`${c}.L${l}.${suffix}`, hookName(l, kind));
          intervened.set(`${c}.intervened.L${l}.coeff`, hookName(l, 'mlp.coeff'));
        }
        for (const [refs, ivs] of [[plain, []], [intervened, interventions]] as const) {
          const out = await model.run([ids], [...new Set(refs.values())], ivs);
          let checked = 0;
          for (const [refName, hook] of refs) {
            if (!ref.entries.has(refName)) continue;
            const diff = maxAbsDiff(out.get(hook)!.data, ref.get(refName).data, ids.length);
            assert.ok(diff <= TOLERANCE, `${arch} ${refName}: max abs diff ${diff.toExponential(2)}`);
            if (diff >= worst.diff) worst = { diff, name: refName };
            checked++;
          }
          assert.equal(checked, refs.size, `${arch} ${c}: every reference tensor was compared`);
        }
      }
      t.diagnostic(`worst: ${worst.diff.toExponential(2)} at ${worst.name}`);
      await checkBranchHooks(model, ref.getInt64('long.input_ids').map(Number));
      // a batch sees the same masks and rotary tables as a single sequence
      const long = ref.getInt64('long.input_ids').map(Number);
      const batch = (await model.run([long, long], ['final_norm'])).get('final_norm')!.data;
      const half = batch.length / 2;
      assert.ok(maxAbsDiff(batch.subarray(half), ref.get('long.final_norm').data, long.length) <= TOLERANCE, `${arch}: the second row of a batch`);
    } finally {
      await model.dispose();
    }
  });
}
