/**
 * Compare (src/core/analysis/compare): position pairing, the memories that differ most checked
 * against a brute-force scan of every coefficient, the planted memory found where it was planted,
 * the page it renders, and the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alignPositions, compareTexts, hookName, loadModel, renderCompare } from '../../src/core';
import { writePlantedModel } from '../fixtures/planted';
import { runCli, tempDir } from '../support';

const WORDS = ['apple', 'banana', 'dog', 'cat', 'sat'];
const planted = () =>
  writePlantedModel({ words: WORDS, dFf: 12, plants: [{ layer: 1, key: 3, trigger: 'apple', promotes: 'dog' }, { layer: 0, key: 7, trigger: 'cat', promotes: 'sat' }] }, tempDir());

test('alignPositions: token by token for equal lengths, from the end otherwise', () => {
  assert.deepEqual(alignPositions(3, 3), { alignment: 'token', pairs: [[0, 0], [1, 1], [2, 2]] });
  assert.deepEqual(alignPositions(2, 4), { alignment: 'end', pairs: [[0, 2], [1, 3]] });
  assert.deepEqual(alignPositions(4, 1), { alignment: 'end', pairs: [[3, 0]] });
});

test('compareTexts: per layer the largest |Δ| over paired positions, as a brute-force scan finds them', async () => {
  const p = planted();
  const model = await loadModel(p.dir, { noCache: true });
  try {
    const A = 'banana cat apple';
    const B = 'dog banana';
    const r = await compareTexts(model, A, B, { memories: 4 });
    assert.equal(r.alignment, 'end');
    assert.deepEqual(r.pairs, [[1, 0], [2, 1]]);
    const ids = (t: string) => model.tokenizer.encode(t);
    const { nLayers, dFf } = model.config;
    for (let layer = 0; layer < nLayers; layer++) {
      const h = hookName(layer, 'mlp.coeff');
      const a = (await model.run([ids(A)], [h])).get(h)!.data;
      const b = (await model.run([ids(B)], [h])).get(h)!.data;
      const brute = Array.from({ length: dFf }, (_, k) => {
        let best = { d: -1, i: 0, j: 0 };
        for (const [i, j] of r.pairs) {
          const d = Math.abs(b[j * dFf + k] - a[i * dFf + k]);
          if (d > best.d) best = { d, i, j };
        }
        return { key: k, ...best };
      }).sort((x, y) => y.d - x.d || x.key - y.key);
      const got = r.layers[layer].memories;
      assert.equal(got.length, 4);
      got.forEach((m, n) => {
        assert.equal(m.key, brute[n].key, `layer ${layer} rank ${n}`);
        assert.deepEqual([m.positionA, m.positionB], [brute[n].i, brute[n].j]);
        assert.ok(Math.abs(Math.abs(m.delta) - brute[n].d) < 1e-6);
        assert.ok(Math.abs(m.delta - (m.coeffB - m.coeffA)) < 1e-6);
        assert.equal(m.value.length, 5);
      });
    }
    // the planted memory: fires on "apple" (A's last token), not on "banana" (paired with it)
    const top1 = r.layers[1].memories[0];
    assert.deepEqual([top1.key, top1.positionA, top1.positionB], [3, 2, 1]);
    assert.ok(top1.delta < -1, `L1:3 falls from A to B (Δ ${top1.delta})`);
    assert.equal(top1.value[0].text, 'dog', 'its value promotes the planted token');
    // "cat" is at A's position 1, paired with B's "dog": L0:7 is found there
    const cat = r.layers[0].memories.find((m) => m.key === 7);
    assert.ok(cat && cat.positionA === 1 && cat.delta < -1);
    assert.equal(r.a.predictions[0].text, 'dog', "A's next token: the planted promotion after apple");

    const html = renderCompare(r);
    assert.ok(!/<script/i.test(html), 'no script in the page');
    assert.match(html, /L1:3/);
    assert.match(html, /from the end/);
    const sneaky = await compareTexts(model, 'apple', 'banana', { memories: 1 });
    sneaky.a.text = '<script>alert(1)</script>';
    sneaky.a.tokens[0] = { ...sneaky.a.tokens[0], text: '<img src=x onerror=alert(1)>' };
    assert.ok(!renderCompare(sneaky).includes('<img'), 'token text is escaped');
  } finally {
    await model.dispose();
  }
});

test('ffn-lens compare: --json and the table; exactly two texts', async () => {
  const p = planted();
  const json = await runCli('compare', '--model', p.dir, '--text', 'banana apple', '--text', 'banana banana', '--top', '2', '--json', '-q');
  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout);
  assert.equal(r.alignment, 'token');
  assert.equal(r.layers[1].memories[0].key, 3);
  assert.equal(r.layers[1].memories.length, 2);
  const text = await runCli('compare', '--model', p.dir, '--text', 'banana apple', '--text', 'banana banana', '-q');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /layer 1: memories that differ most[\s\S]*L1:3/);
  const one = await runCli('compare', '--model', p.dir, '--text', 'apple');
  assert.equal(one.code, 2);
  assert.match(one.stderr, /give --text twice/);
});
