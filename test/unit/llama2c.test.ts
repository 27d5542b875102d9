import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadLlama2c, permuteRopeRows } from '../../src/core/load/llama2c';
import { Llama2cTokenizer } from '../../src/core/tokenize/llama2c';
import { tempDir } from '../support';

const SHARED = path.resolve(process.cwd(), process.env.FFN_LENS_SHARED ?? '../shared');
const MODEL_DIR = path.join(SHARED, 'models', 'stories260K');
const MODEL = path.join(MODEL_DIR, 'stories260K.bin');
const TOKENIZER = path.join(MODEL_DIR, 'tok512.bin');
const EXPECTED = path.join(MODEL_DIR, 'expected.json');
const haveShared = fs.existsSync(MODEL) && fs.existsSync(TOKENIZER) && fs.existsSync(EXPECTED);
const SKIP = `shared data not found at ${MODEL_DIR} (set FFN_LENS_SHARED)`;

interface Expected {
  greedy_ids_from_bos: number[];
  text_from_bos_256_steps: string;
  prompt: string;
  text_from_prompt_120_steps: string;
}
const expected = (): Expected => JSON.parse(fs.readFileSync(EXPECTED, 'utf8')) as Expected;

function tmpFile(name: string, bytes: Uint8Array): string {
  const dir = tempDir('ffn-lens-llama2c-');
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** A llama2.c file: the 7-int header, then `nFloats` floats 0, 1, 2, … (so every tensor is recognisable). */
function syntheticCheckpoint(header: number[], nFloats: number): Uint8Array {
  const buf = new ArrayBuffer(28 + 4 * nFloats);
  const view = new DataView(buf);
  header.forEach((v, i) => view.setInt32(4 * i, v, true));
  for (let i = 0; i < nFloats; i++) view.setFloat32(28 + 4 * i, i, true);
  return new Uint8Array(buf);
}

/** Float count of a llama2.c file body (run.c memory_map_weights order), wcls excluded. */
function bodyFloats(dim: number, hid: number, L: number, nh: number, nkv: number, V: number, S: number): number {
  const hs = dim / nh;
  const kv = nkv * hs;
  return V * dim + L * dim + L * dim * dim + 2 * L * kv * dim + L * dim * dim + L * dim + 3 * L * hid * dim + dim + S * hs;
}

// ---------------------------------------------------------------- loader

test('loader: stories260K header, config and HF tensor shapes', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const { config, weights } = loadLlama2c(MODEL);
  assert.equal(config.model_type, 'llama');
  assert.equal(config.hidden_size, 64);
  assert.equal(config.intermediate_size, 172);
  assert.equal(config.num_hidden_layers, 5);
  assert.equal(config.num_attention_heads, 8);
  assert.equal(config.num_key_value_heads, 4);
  assert.equal(config.head_dim, 8);
  assert.equal(config.vocab_size, 512);
  assert.equal(config.max_position_embeddings, 512);
  assert.equal(config.tie_word_embeddings, true);
  assert.deepEqual(config.rope_parameters, { rope_theta: 10000, rope_type: 'default' });

  const shapes: Record<string, number[]> = {
    'model.embed_tokens.weight': [512, 64],
    'model.norm.weight': [64],
    'lm_head.weight': [512, 64],
  };
  for (let l = 0; l < 5; l++) {
    const p = `model.layers.${l}`;
    Object.assign(shapes, {
      [`${p}.input_layernorm.weight`]: [64],
      [`${p}.post_attention_layernorm.weight`]: [64],
      [`${p}.self_attn.q_proj.weight`]: [64, 64],
      [`${p}.self_attn.k_proj.weight`]: [32, 64],
      [`${p}.self_attn.v_proj.weight`]: [32, 64],
      [`${p}.self_attn.o_proj.weight`]: [64, 64],
      [`${p}.mlp.gate_proj.weight`]: [172, 64],
      [`${p}.mlp.up_proj.weight`]: [172, 64],
      [`${p}.mlp.down_proj.weight`]: [64, 172],
    });
  }
  assert.deepEqual(new Set(weights.names()), new Set(Object.keys(shapes)));
  for (const [name, shape] of Object.entries(shapes)) {
    const w = weights.get(name);
    assert.deepEqual(w.shape, shape, name);
    assert.equal(w.data.length, shape.reduce((a, b) => a * b, 1), name);
    assert.ok(w.data.every(Number.isFinite), `${name} is finite`);
  }
  // Tied classifier: the embedding itself, and its first value is the first float of the file.
  assert.equal(weights.get('lm_head.weight').data, weights.get('model.embed_tokens.weight').data);
  assert.equal(weights.get('model.embed_tokens.weight').data[0], fs.readFileSync(MODEL).readFloatLE(28));
  assert.throws(() => weights.get('model.layers.5.mlp.up_proj.weight'), /missing/);
});

test('loader: every tensor lands at its run.c offset (synthetic file, unshared classifier)', () => {
  const [dim, hid, L, nh, nkv, V, S] = [8, 12, 2, 2, 1, 16, 4];
  const body = bodyFloats(dim, hid, L, nh, nkv, V, S);
  const file = tmpFile('unshared.bin', syntheticCheckpoint([dim, hid, L, nh, nkv, -V, S], body + V * dim));
  const { config, weights } = loadLlama2c(file);
  assert.equal(config.tie_word_embeddings, false);
  assert.equal(config.vocab_size, V);
  const kv = nkv * (dim / nh);
  // Start offsets of each block, in floats, following memory_map_weights.
  let o = 0;
  const at: Record<string, number> = {};
  for (const [k, n] of [
    ['emb', V * dim], ['rmsAtt', L * dim], ['wq', L * dim * dim], ['wk', L * kv * dim], ['wv', L * kv * dim],
    ['wo', L * dim * dim], ['rmsFfn', L * dim], ['w1', L * hid * dim], ['w2', L * dim * hid], ['w3', L * hid * dim],
    ['rmsFinal', dim], ['freq', S * (dim / nh)], ['wcls', V * dim],
  ] as const) {
    at[k] = o;
    o += n;
  }
  assert.equal(o, body + V * dim);
  const first = (name: string): number => weights.get(name).data[0];
  assert.equal(first('model.embed_tokens.weight'), at.emb);
  assert.equal(first('model.layers.1.input_layernorm.weight'), at.rmsAtt + dim);
  assert.equal(first('model.layers.1.self_attn.v_proj.weight'), at.wv + kv * dim);
  assert.equal(first('model.layers.0.self_attn.o_proj.weight'), at.wo);
  assert.equal(first('model.layers.1.post_attention_layernorm.weight'), at.rmsFfn + dim);
  assert.equal(first('model.layers.0.mlp.gate_proj.weight'), at.w1);
  assert.equal(first('model.layers.0.mlp.down_proj.weight'), at.w2);
  assert.equal(first('model.layers.1.mlp.up_proj.weight'), at.w3 + hid * dim);
  assert.equal(first('model.norm.weight'), at.rmsFinal);
  assert.equal(first('lm_head.weight'), at.wcls);
  // q/k rows are permuted but row 0 of each head stays row 0.
  assert.equal(first('model.layers.0.self_attn.q_proj.weight'), at.wq);
  assert.equal(first('model.layers.1.self_attn.k_proj.weight'), at.wk + kv * dim);
  // Row 1 of a head (HF) is row 2 of that head in the file.
  assert.equal(weights.get('model.layers.0.self_attn.q_proj.weight').data[dim], at.wq + 2 * dim);
});

test('loader: truncated file gives a clear error', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const full = fs.readFileSync(MODEL);
  const file = tmpFile('stories260K-truncated.bin', full.subarray(0, full.length - 1000));
  assert.throws(() => loadLlama2c(file), (e: Error) => {
    assert.ok(e.message.includes(file), e.message);
    assert.match(e.message, /should be 1056540 bytes .* but is 1055540 .*truncated/);
    return true;
  });
});

test('loader: short, nonsense and mismatched headers give clear errors', () => {
  const short = tmpFile('short.bin', new Uint8Array(10));
  assert.throws(() => loadLlama2c(short), /short\.bin: not a llama2\.c checkpoint: 10 bytes is shorter than the 28-byte header/);

  const zeroHeads = tmpFile('zero.bin', syntheticCheckpoint([8, 12, 2, 0, 1, 16, 4], 10));
  assert.throws(() => loadLlama2c(zeroHeads), /zero\.bin: .*must be positive/);

  const huge = tmpFile('huge.bin', syntheticCheckpoint([1 << 30, 12, 2, 2, 1, 16, 4], 10));
  assert.throws(() => loadLlama2c(huge), /huge\.bin: .*sane limits/);

  const gqa = tmpFile('gqa.bin', syntheticCheckpoint([8, 12, 2, 2, 3, 16, 4], 10));
  assert.throws(() => loadLlama2c(gqa), /multiple of n_kv_heads/);

  const magic = new Uint8Array(64);
  magic.set([0x32, 0x34, 0x6b, 0x61]); // uint32 0x616b3432 little-endian
  assert.throws(() => loadLlama2c(tmpFile('v1.bin', magic)), /v1\/v2 file \(magic "ak42"\)/);

  // Header says shared (positive vocab) but the file also carries wcls.
  const [dim, hid, L, nh, nkv, V, S] = [8, 12, 2, 2, 1, 16, 4];
  const withCls = tmpFile('sign.bin', syntheticCheckpoint([dim, hid, L, nh, nkv, V, S], bodyFloats(dim, hid, L, nh, nkv, V, S) + V * dim));
  assert.throws(() => loadLlama2c(withCls), /sign\.bin: .*with a separate classifier \(wcls\)/);

  const trailing = tmpFile('trail.bin', syntheticCheckpoint([dim, hid, L, nh, nkv, V, S], bodyFloats(dim, hid, L, nh, nkv, V, S) + 3));
  assert.throws(() => loadLlama2c(trailing), /trailing data/);
});

// ---------------------------------------------------------------- RoPE permutation

/** Deterministic normal-ish values. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function matVec(w: Float32Array, rows: number, cols: number, x: Float64Array): Float64Array {
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y[r] += w[r * cols + c] * x[c];
  return y;
}

/** llama2.c run.c: rotate pairs (2i, 2i+1) of each head by pos·θ^(-2i/hs). */
function ropeInterleaved(v: Float64Array, hs: number, pos: number): Float64Array {
  const out = Float64Array.from(v);
  for (let i = 0; i < v.length; i += 2) {
    const a = pos / 10000 ** ((i % hs) / hs);
    const [c, s] = [Math.cos(a), Math.sin(a)];
    out[i] = v[i] * c - v[i + 1] * s;
    out[i + 1] = v[i] * s + v[i + 1] * c;
  }
  return out;
}

/** HF Llama: x·cos + rotate_half(x)·sin, pairs (i, i+hs/2) with the same frequencies. */
function ropeHalf(v: Float64Array, hs: number, pos: number): Float64Array {
  const out = new Float64Array(v.length);
  const half = hs / 2;
  for (let h = 0; h < v.length; h += hs) {
    for (let i = 0; i < half; i++) {
      const a = pos / 10000 ** ((2 * i) / hs);
      const [c, s] = [Math.cos(a), Math.sin(a)];
      const x1 = v[h + i];
      const x2 = v[h + i + half];
      out[h + i] = x1 * c - x2 * s;
      out[h + i + half] = x2 * c + x1 * s;
    }
  }
  return out;
}

/** Attention logits q_h·k_{h/groups} for every query head. */
function scores(q: Float64Array, k: Float64Array, nHeads: number, nKv: number, hs: number): number[] {
  return Array.from({ length: nHeads }, (_, h) => {
    const kh = Math.floor(h / (nHeads / nKv));
    let s = 0;
    for (let i = 0; i < hs; i++) s += q[h * hs + i] * k[kh * hs + i];
    return s;
  });
}

function assertClose(a: number[], b: number[], tol: number, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(a[i])), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

/** Interleaved RoPE with raw weights vs rotate_half RoPE with permuted weights: same q·k. */
function checkRope(wq: Float32Array, wk: Float32Array, wqHf: Float32Array, wkHf: Float32Array, dim: number, nHeads: number, nKv: number, seed: number): void {
  const hs = dim / nHeads;
  const kvDim = nKv * hs;
  const r = rng(seed);
  for (const [pq, pk] of [[0, 0], [5, 2], [37, 11], [200, 199]]) {
    const xq = Float64Array.from({ length: dim }, r);
    const xk = Float64Array.from({ length: dim }, r);
    const ref = scores(ropeInterleaved(matVec(wq, dim, dim, xq), hs, pq), ropeInterleaved(matVec(wk, kvDim, dim, xk), hs, pk), nHeads, nKv, hs);
    const hf = scores(ropeHalf(matVec(wqHf, dim, dim, xq), hs, pq), ropeHalf(matVec(wkHf, kvDim, dim, xk), hs, pk), nHeads, nKv, hs);
    assertClose(hf, ref, 1e-9, `scores at q pos ${pq}, k pos ${pk}`);
  }
}

test('RoPE: permuted wq/wk under rotate_half give llama2.c interleaved-RoPE scores (random weights, GQA)', () => {
  const [dim, nHeads, nKv] = [24, 4, 2];
  const hs = dim / nHeads;
  const r = rng(7);
  const wq = Float32Array.from({ length: dim * dim }, r);
  const wk = Float32Array.from({ length: nKv * hs * dim }, r);
  checkRope(wq, wk, permuteRopeRows(wq, nHeads, hs, dim), permuteRopeRows(wk, nKv, hs, dim), dim, nHeads, nKv, 11);
  // Without the permutation the scores differ, so the check above has teeth.
  assert.throws(() => checkRope(wq, wk, wq, wk, dim, nHeads, nKv, 11));
});

test('RoPE: the loader permutes stories260K wq/wk so rotate_half reproduces llama2.c', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const { weights } = loadLlama2c(MODEL);
  const buf = fs.readFileSync(MODEL);
  const [dim, L, nHeads, nKv, V] = [64, 5, 8, 4, 512];
  const kvDim = (nKv * dim) / nHeads;
  const rawFloats = (floatOffset: number, n: number): Float32Array =>
    Float32Array.from({ length: n }, (_, i) => buf.readFloatLE(28 + 4 * (floatOffset + i)));
  const wqStart = V * dim + L * dim;
  const wkStart = wqStart + L * dim * dim;
  for (const l of [0, 4]) {
    const wq = rawFloats(wqStart + l * dim * dim, dim * dim);
    const wk = rawFloats(wkStart + l * kvDim * dim, kvDim * dim);
    const q = weights.get(`model.layers.${l}.self_attn.q_proj.weight`).data;
    const k = weights.get(`model.layers.${l}.self_attn.k_proj.weight`).data;
    checkRope(wq, wk, q, k, dim, nHeads, nKv, 100 + l);
  }
});

/**
 * A plain Hugging Face–style Llama forward (rotate_half RoPE, GQA, SwiGLU) over the loaded
 * weights, one position at a time with a KV cache; returns the greedy continuation of `ids`.
 */
test('tokenizer: decode of the reference greedy ids is the reference text', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const tok = Llama2cTokenizer.fromFile(TOKENIZER, 512);
  const exp = expected();
  const text = tok.decode(exp.greedy_ids_from_bos);
  assert.ok(text.length > 100, text);
  assert.ok(exp.text_from_bos_256_steps.startsWith(text), `${JSON.stringify(text)} is not a prefix of the reference`);
});

test('tokenizer: encode(prompt) starts with BOS and decodes back to the prompt', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const tok = Llama2cTokenizer.fromFile(TOKENIZER, 512);
  const { prompt } = expected();
  const ids = tok.encode(prompt);
  assert.equal(ids[0], tok.bosId);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.ok(ids.length > 2 && ids.length < prompt.length, `${ids}`);
  assert.equal(tok.decode(ids), prompt);
  // Empty text: BOS only, no dummy prefix (run.c adds it only when text != "").
  assert.deepEqual(tok.encode(''), [1]);
  // The reference greedy continuation re-encodes to ids that decode the same way.
  const ref = expected().text_from_prompt_120_steps;
  assert.equal(tok.decode(tok.encode(ref)), ref);
});

test('tokenizer: unseen characters fall back to byte tokens and decode back', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const tok = Llama2cTokenizer.fromFile(TOKENIZER, 512);
  const text = 'The llama 🦙 said: naïve Ωmega\tok\nbye';
  const ids = tok.encode(text);
  const llama = [...new TextEncoder().encode('🦙')].map((b) => b + 3);
  const at = ids.findIndex((_, i) => llama.every((x, j) => ids[i + j] === x));
  assert.ok(at > 0, `byte tokens ${llama} not found in ${ids}`);
  assert.equal(tok.tokenText(llama[0]), '<0xF0>');
  assert.equal(tok.decode(ids), text);
});

test('tokenizer: offsets cover the text in order', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const tok = Llama2cTokenizer.fromFile(TOKENIZER, 512);
  for (const text of [expected().prompt, 'Hi 🦙, “quoted” text…\n\nNew paragraph.', 'a']) {
    const spans = tok.encodeWithOffsets(text);
    assert.deepEqual(spans.map((s) => s.id), tok.encode(text));
    assert.deepEqual([spans[0].start, spans[0].end], [0, 0], 'BOS');
    assert.equal(spans[0].text, '<s>');
    let covered = 0;
    for (const s of spans.slice(1)) {
      assert.ok(s.start <= s.end && s.end <= text.length, JSON.stringify(s));
      // Byte tokens of one character share its span; everything else starts where the last ended.
      assert.ok(s.start === covered || (s.start < covered && s.end === covered), `gap or overlap at ${JSON.stringify(s)}`);
      if (!(s.id >= 3 && s.id < 259)) {
        const piece = s.start === 0 ? s.text.replace(/^ /, '') : s.text;
        assert.equal(text.slice(s.start, s.end), piece, `span text of ${JSON.stringify(s)}`);
      }
      covered = s.end;
    }
    assert.equal(covered, text.length, `spans end at ${covered}, text has ${text.length}`);
    assert.equal(spans[1].start, 0);
  }
});

/** run.c encode as written there: rescan every adjacent pair after each merge. */
function naiveEncode(pieces: string[], scores: Float32Array, text: string): number[] {
  const lookup = new Map<string, number>();
  pieces.forEach((p, i) => lookup.has(p) || lookup.set(p, i));
  const ids = [1];
  if (text) ids.push(lookup.get(' ')!);
  for (const b of Buffer.from(text, 'utf8').toString('latin1').match(/[\x00-\x7f\xc0-\xff][\x80-\xbf]*/g) ?? []) {
    const id = lookup.get(b);
    if (id !== undefined) ids.push(id);
    else for (const ch of b) ids.push(ch.charCodeAt(0) + 3);
  }
  for (;;) {
    let best = Math.fround(-1e10);
    let bestIdx = -1;
    let bestId = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const id = lookup.get(pieces[ids[i]] + pieces[ids[i + 1]]);
      if (id !== undefined && scores[id] > best) [best, bestIdx, bestId] = [scores[id], i, id];
    }
    if (bestIdx === -1) return ids;
    ids.splice(bestIdx, 2, bestId);
  }
}

test('tokenizer: heap-based merging equals run.c rescanning on real text', (t) => {
  if (!haveShared) return t.skip(SKIP);
  const raw = fs.readFileSync(TOKENIZER);
  const pieces: string[] = [];
  const scores: number[] = [];
  for (let off = 4; off < raw.length; ) {
    scores.push(raw.readFloatLE(off));
    const len = raw.readInt32LE(off + 4);
    pieces.push(raw.toString('latin1', off + 8, off + 8 + len));
    off += 8 + len;
  }
  const tok = Llama2cTokenizer.fromFile(TOKENIZER);
  assert.equal(tok.vocabSize, 512);
  const corpus = path.join(SHARED, 'corpora', 'tinystories-valid-sample.txt');
  const texts = [expected().text_from_bos_256_steps, 'aaaaaaaaaa', '  double  spaces  ', 'é€𝄞 mixed ünïcödé', 'the the the theeee'];
  if (fs.existsSync(corpus)) texts.push(...fs.readFileSync(corpus, 'utf8').slice(0, 20000).split('\n\n').slice(0, 30));
  for (const text of texts) assert.deepEqual(tok.encode(text), naiveEncode(pieces, Float32Array.from(scores), text), text.slice(0, 60));
});

test('tokenizer: file validation', (t) => {
  if (!haveShared) return t.skip(SKIP);
  assert.throws(() => Llama2cTokenizer.fromFile(TOKENIZER, 600), /tok512\.bin: .*file ends inside the record of token 512/);
  assert.throws(() => Llama2cTokenizer.fromFile(TOKENIZER, 256), /tok512\.bin: .*remain after 256 tokens/);
  const full = fs.readFileSync(TOKENIZER);
  assert.throws(() => Llama2cTokenizer.fromFile(tmpFile('tok-cut.bin', full.subarray(0, full.length - 3))), /past the end/);
  const tok = Llama2cTokenizer.fromFile(TOKENIZER, 512);
  assert.throws(() => tok.decode([512]), /outside the vocabulary/);
  assert.ok(tok.isSpecial(0) && tok.isSpecial(1) && tok.isSpecial(2) && !tok.isSpecial(3));
  assert.equal(tok.tokenText(2), '</s>');
});
