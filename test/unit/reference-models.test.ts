/** End-to-end checks of loader + tokenizer + forward pass on the two real shared models. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadModel } from '../../src/core';
import { greedy, sharedOrSkip, tempDir } from '../support';

const cacheDir = tempDir();

test('gpt2-books: tokenizer round-trips each probe prompt and greedy decoding gives the reference 20 ids', async (t) => {
  const dir = sharedOrSkip(t, 'models', 'gpt2-books');
  if (!dir) return;
  const probes = JSON.parse(fs.readFileSync(path.join(dir, 'greedy.json'), 'utf8')) as Record<string, number[]>;
  const model = await loadModel(dir, { cacheDir });
  try {
    for (const [name, ids] of Object.entries(probes)) {
      const prompt = ids.slice(0, -20);
      assert.deepEqual(model.tokenizer.encode(model.tokenizer.decode(prompt)), prompt, `${name}: prompt ids`);
      assert.deepEqual(await greedy(model, prompt, 20), ids, `${name}: greedy ids`);
    }
  } finally {
    await model.dispose();
  }
});

test('stories260K: greedy ids from BOS and greedy text from the prompt equal the llama2.c runner', async (t) => {
  const bin = sharedOrSkip(t, 'models', 'stories260K', 'stories260K.bin');
  if (!bin) return;
  const expected = JSON.parse(fs.readFileSync(path.join(path.dirname(bin), 'expected.json'), 'utf8')) as {
    greedy_ids_from_bos: number[];
    prompt: string;
    text_from_prompt_120_steps: string;
  };
  const model = await loadModel(bin, { cacheDir });
  try {
    const fromBos = expected.greedy_ids_from_bos;
    assert.deepEqual(await greedy(model, [1], fromBos.length - 1), fromBos);
    // the runner counts prompt tokens (after BOS) among its steps and prints every token after BOS
    const prompt = model.tokenizer.encode(expected.prompt);
    assert.equal(prompt[0], 1);
    const ids = await greedy(model, prompt, 120 - (prompt.length - 1));
    assert.equal(model.tokenizer.decode(ids), expected.text_from_prompt_120_steps);
  } finally {
    await model.dispose();
  }
});
