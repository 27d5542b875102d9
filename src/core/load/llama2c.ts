/**
 * Loader for karpathy/llama2.c checkpoints (the legacy "version 0" export that run.c reads:
 * a 7 × int32 header followed by raw fp32 tensors). The tensors come out under Hugging Face
 * Llama names and layout, with wq/wk rows permuted so an HF-style (rotate_half) RoPE gives the
 * same attention as llama2.c's interleaved RoPE. One loader, one orientation: the graph builder
 * never needs to know the checkpoint came from llama2.c.
 */
import { constants as bufferConstants } from 'node:buffer';
import { endianness } from 'node:os';
import type { HostTensor } from '../tensor';
import { MemoryWeightStore, type WeightStore } from './weights';
import { readRegularFile } from '../io/readFile';

export interface Llama2cHeader {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Always positive; the sign in the file is `sharedClassifier`. */
  vocabSize: number;
  seqLen: number;
  /** Header vocab_size > 0: the classifier is the embedding table (no wcls tensor in the file). */
  sharedClassifier: boolean;
  headSize: number;
}

const HEADER_BYTES = 7 * 4;
/** export.py's v1/v2 formats start with this uint32; run.c cannot read them, neither can we. */
const AK42_MAGIC = 0x616b3432;

/**
 * Upper bounds that no real llama2.c model comes near; they turn a wrong file (whose first
 * bytes decode to huge ints) into a clear error instead of an absurd allocation.
 */
const LIMITS = { dim: 1 << 16, hiddenDim: 1 << 18, nLayers: 1 << 10, vocabSize: 1 << 21, seqLen: 1 << 20 };

export function parseLlama2cHeader(buf: Uint8Array, source: string): Llama2cHeader {
  if (buf.byteLength < HEADER_BYTES) {
    throw new Error(`${source}: not a llama2.c checkpoint: ${buf.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  const view = new DataView(buf.buffer, buf.byteOffset, HEADER_BYTES);
  const ints = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  if (view.getUint32(0, true) === AK42_MAGIC) {
    throw new Error(
      `${source}: this is a llama2.c export.py v1/v2 file (magic "ak42"); only the legacy v0 format that run.c reads is supported (export with --version 0)`,
    );
  }
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = ints;
  const fields = { dim, hidden_dim: hiddenDim, n_layers: nLayers, n_heads: nHeads, n_kv_heads: nKvHeads, vocab_size: rawVocab, seq_len: seqLen };
  const bad = (why: string): Error => new Error(`${source}: not a valid llama2.c checkpoint header (${JSON.stringify(fields)}): ${why}`);

  const vocabSize = Math.abs(rawVocab);
  if ([dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen].some((v) => v <= 0)) {
    throw bad('every header value must be positive (vocab_size may only be negative, meaning an unshared classifier)');
  }
  if (dim > LIMITS.dim || hiddenDim > LIMITS.hiddenDim || nLayers > LIMITS.nLayers || vocabSize > LIMITS.vocabSize || seqLen > LIMITS.seqLen) {
    throw bad(`a value exceeds the sane limits ${JSON.stringify(LIMITS)}`);
  }
  if (nHeads > dim || dim % nHeads !== 0) throw bad('dim must be a multiple of n_heads');
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) throw bad('n_heads must be a multiple of n_kv_heads');
  const headSize = dim / nHeads;
  if (headSize % 2 !== 0) throw bad(`head size ${headSize} must be even for RoPE`);
  return { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier: rawVocab > 0, headSize };
}

/** One tensor of the file, in file order (llama2.c run.c memory_map_weights). */
interface Segment {
  key: 'emb' | 'rmsAtt' | 'wq' | 'wk' | 'wv' | 'wo' | 'rmsFfn' | 'w1' | 'w2' | 'w3' | 'rmsFinal' | 'freqReal' | 'freqImag' | 'wcls';
  /** Shape of the whole block; per-layer blocks have the layer count first. */
  shape: number[];
}

function fileLayout(h: Llama2cHeader, withClassifier: boolean): Segment[] {
  const { dim, hiddenDim: hid, nLayers: L, vocabSize: V, seqLen: S, headSize: hs } = h;
  const kvDim = h.nKvHeads * hs;
  const segs: Segment[] = [
    { key: 'emb', shape: [V, dim] },
    { key: 'rmsAtt', shape: [L, dim] },
    { key: 'wq', shape: [L, dim, dim] },
    { key: 'wk', shape: [L, kvDim, dim] },
    { key: 'wv', shape: [L, kvDim, dim] },
    { key: 'wo', shape: [L, dim, dim] },
    { key: 'rmsFfn', shape: [L, dim] },
    { key: 'w1', shape: [L, hid, dim] },
    { key: 'w2', shape: [L, dim, hid] },
    { key: 'w3', shape: [L, hid, dim] },
    { key: 'rmsFinal', shape: [dim] },
    // Precomputed RoPE tables from old exports; run.c skips them and so do we.
    { key: 'freqReal', shape: [S, hs / 2] },
    { key: 'freqImag', shape: [S, hs / 2] },
  ];
  if (withClassifier) segs.push({ key: 'wcls', shape: [V, dim] });
  return segs;
}

const count = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
const layoutBytes = (segs: Segment[]): number => HEADER_BYTES + 4 * segs.reduce((a, s) => a + count(s.shape), 0);

/**
 * Reorder the rows of a q or k projection [nHeads·headSize, cols] from llama2.c's RoPE pairing
 * (rows 2i, 2i+1 of a head rotate together) to HF's rotate_half pairing (rows i, i+headSize/2).
 * Same mapping as transformers' convert_llama_weights_to_hf `permute`: new row (h, j, i) ← old
 * row (h, i, j) with j ∈ {0,1}, i < headSize/2. Rotating permuted rows the HF way yields the
 * llama2.c result, permuted the same way in every head of q and k, so q·k is unchanged.
 */
export function permuteRopeRows(w: Float32Array, nHeads: number, headSize: number, cols: number): Float32Array {
  if (w.length !== nHeads * headSize * cols) throw new Error(`permuteRopeRows: expected ${nHeads * headSize * cols} values, got ${w.length}`);
  const half = headSize / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * headSize + 2 * i + j) * cols;
        const dst = (h * headSize + j * half + i) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** HF-style llama config.json for a llama2.c model (the values run.c hard-codes). */
export function llama2cConfig(h: Llama2cHeader): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: h.dim,
    intermediate_size: h.hiddenDim,
    num_hidden_layers: h.nLayers,
    num_attention_heads: h.nHeads,
    num_key_value_heads: h.nKvHeads,
    head_dim: h.headSize,
    vocab_size: h.vocabSize,
    max_position_embeddings: h.seqLen,
    rms_norm_eps: 1e-5,
    rope_parameters: { rope_theta: 10000, rope_type: 'default' },
    tie_word_embeddings: h.sharedClassifier,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    attention_bias: false,
    mlp_bias: false,
    dtype: 'float32',
  };
}

/** fp32 view of the file's float area; a copy only when the Buffer is not 4-byte aligned. */
function floatView(buf: Buffer): Float32Array {
  const nFloats = (buf.byteLength - HEADER_BYTES) / 4;
  const start = buf.byteOffset + HEADER_BYTES;
  if (start % 4 === 0) return new Float32Array(buf.buffer, start, nFloats);
  const copy = new Uint8Array(nFloats * 4);
  copy.set(buf.subarray(HEADER_BYTES));
  return new Float32Array(copy.buffer);
}

export function loadLlama2c(path: string): { config: Record<string, unknown>; weights: WeightStore; contents: Uint8Array } {
  // Typed arrays are host-endian; the format is little-endian.
  if (endianness() !== 'LE') throw new Error(`${path}: llama2.c checkpoints are little-endian; this host is big-endian`);
  // a regular file (not a FIFO or a device), read no further than its size
  const buf = readRegularFile(path, 'llama2.c checkpoint', { maxBytes: bufferConstants.MAX_LENGTH });
  const h = parseLlama2cHeader(buf, path);

  const layout = fileLayout(h, !h.sharedClassifier);
  const expected = layoutBytes(layout);
  if (buf.byteLength !== expected) {
    const other = layoutBytes(fileLayout(h, h.sharedClassifier));
    const hint =
      buf.byteLength === other
        ? ` — that is the size ${h.sharedClassifier ? 'with' : 'without'} a separate classifier (wcls), but the header's vocab_size sign says ${h.sharedClassifier ? 'shared (positive)' : 'unshared (negative)'}`
        : buf.byteLength < expected
          ? ' — the file is truncated or the header does not match the weights'
          : ' — the file has trailing data or the header does not match the weights';
    throw new Error(`${path}: llama2.c checkpoint should be ${expected} bytes for its header, but is ${buf.byteLength}${hint}`);
  }

  const floats = floatView(buf);
  const blocks = new Map<Segment['key'], HostTensor>();
  let offset = 0;
  for (const seg of layout) {
    const n = count(seg.shape);
    blocks.set(seg.key, { data: floats.subarray(offset, offset + n), shape: seg.shape });
    offset += n;
  }

  const block = (key: Segment['key']): HostTensor => blocks.get(key)!;
  /** Layer l of an [L, ...] block, as a view. */
  const layer = (key: Segment['key'], l: number): HostTensor => {
    const b = block(key);
    const rest = b.shape.slice(1);
    const n = count(rest);
    return { data: b.data.subarray(l * n, (l + 1) * n), shape: rest };
  };

  const out = new Map<string, HostTensor>();
  out.set('model.embed_tokens.weight', block('emb'));
  for (let l = 0; l < h.nLayers; l++) {
    const p = `model.layers.${l}`;
    const wq = layer('wq', l);
    const wk = layer('wk', l);
    out.set(`${p}.input_layernorm.weight`, layer('rmsAtt', l));
    out.set(`${p}.self_attn.q_proj.weight`, { data: permuteRopeRows(wq.data, h.nHeads, h.headSize, h.dim), shape: wq.shape });
    out.set(`${p}.self_attn.k_proj.weight`, { data: permuteRopeRows(wk.data, h.nKvHeads, h.headSize, h.dim), shape: wk.shape });
    out.set(`${p}.self_attn.v_proj.weight`, layer('wv', l));
    out.set(`${p}.self_attn.o_proj.weight`, layer('wo', l));
    out.set(`${p}.post_attention_layernorm.weight`, layer('rmsFfn', l));
    out.set(`${p}.mlp.gate_proj.weight`, layer('w1', l));
    out.set(`${p}.mlp.up_proj.weight`, layer('w3', l));
    out.set(`${p}.mlp.down_proj.weight`, layer('w2', l));
  }
  out.set('model.norm.weight', block('rmsFinal'));
  out.set('lm_head.weight', h.sharedClassifier ? block('emb') : block('wcls'));

  return { config: llama2cConfig(h), weights: new MemoryWeightStore(out, path), contents: buf };
}
