/**
 * The value table's on-disk form: a small JSON header and the raw arrays, checked by a
 * SHA-256 of the body. Token ids are stored as uint16 when the vocabulary allows it
 * (GPT-2's 50,257 does), which makes the file about a quarter smaller.
 *
 * Layout: "FFNVTAB1" | u32 LE header length | header JSON (UTF-8) | zero padding to 4 |
 * topIds | bottomIds | topProbs f32 | bottomProbs f32 | maxProb f32 (all little-endian).
 */
import { createHash } from 'node:crypto';

export const VALUE_TABLE_FORMAT = 1;
const MAGIC = 'FFNVTAB1';

/** What identifies a table: a cached file must match all of it to be used. */
export interface ValueTableKey {
  modelHash: string;
  finalNorm: boolean;
  nLayers: number;
  dFf: number;
  vocabSize: number;
  /** Top-k and bottom-k kept per memory. */
  k: number;
}

export interface ValueTableData extends ValueTableKey {
  /** [nLayers·dFf, k], memory m = layer·dFf + key; highest probability first. */
  topIds: Int32Array;
  topProbs: Float32Array;
  /** [nLayers·dFf, k], lowest probability first. */
  bottomIds: Int32Array;
  bottomProbs: Float32Array;
  /** [nLayers·dFf]: max pᵢ, equal to topProbs[m·k]; kept separately because calibration bins on it. */
  maxProb: Float32Array;
}

interface Header extends ValueTableKey {
  format: number;
  idBytes: 2 | 4;
  sha256: string;
}

export class ValueTableFileError extends Error {}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function idBytesFor(vocabSize: number): 2 | 4 {
  return vocabSize <= 0x10000 ? 2 : 4;
}

function bodyParts(t: ValueTableData, idBytes: 2 | 4): Uint8Array[] {
  const ids = (a: Int32Array) => (idBytes === 2 ? Uint16Array.from(a) : Uint32Array.from(a));
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  // two id arrays of equal length: 4·n bytes at uint16, so the floats stay 4-byte aligned
  return [bytes(ids(t.topIds)), bytes(ids(t.bottomIds)), bytes(t.topProbs), bytes(t.bottomProbs), bytes(t.maxProb)];
}

export function encodeValueTable(t: ValueTableData): Uint8Array[] {
  const idBytes = idBytesFor(t.vocabSize);
  const body = bodyParts(t, idBytes);
  const sha = createHash('sha256');
  body.forEach((b) => sha.update(b));
  const header: Header = {
    format: VALUE_TABLE_FORMAT,
    modelHash: t.modelHash,
    finalNorm: t.finalNorm,
    nLayers: t.nLayers,
    dFf: t.dFf,
    vocabSize: t.vocabSize,
    k: t.k,
    idBytes,
    sha256: sha.digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const lead = Buffer.alloc(MAGIC.length + 4);
  lead.write(MAGIC, 0, 'latin1');
  lead.writeUInt32LE(json.length, MAGIC.length);
  return [lead, json, new Uint8Array(pad4(lead.length + json.length)), ...body];
}

/**
 * Reads and checks a table file against what the caller expects. Any mismatch or
 * damage is a ValueTableFileError saying what is wrong, never a silently wrong table.
 */
export function decodeValueTable(buf: Uint8Array, expect: ValueTableKey): ValueTableData {
  const fail = (why: string): never => {
    throw new ValueTableFileError(why);
  };
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < MAGIC.length + 4 || b.toString('latin1', 0, MAGIC.length) !== MAGIC) fail('not a value table file (bad magic)');
  const headerLen = b.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLen;
  if (headerEnd > b.length) fail('truncated header');
  let h: Header;
  try {
    h = JSON.parse(b.toString('utf8', MAGIC.length + 4, headerEnd)) as Header;
  } catch {
    return fail('unreadable header');
  }
  if (h.format !== VALUE_TABLE_FORMAT) fail(`format ${h.format}, expected ${VALUE_TABLE_FORMAT}`);
  for (const f of ['modelHash', 'finalNorm', 'nLayers', 'dFf', 'vocabSize', 'k'] as const) {
    if (h[f] !== expect[f]) fail(`built for ${f} ${String(h[f])}, expected ${String(expect[f])}`);
  }
  if (h.idBytes !== idBytesFor(h.vocabSize)) fail(`bad id width ${h.idBytes}`);
  const n = h.nLayers * h.dFf * h.k;
  const rows = h.nLayers * h.dFf;
  const bodyStart = headerEnd + pad4(headerEnd);
  const size = bodyStart + 2 * n * h.idBytes + 4 * (2 * n + rows);
  if (b.length !== size) fail(`${b.length} bytes, expected ${size} (truncated or padded)`);
  const body = b.subarray(bodyStart);
  if (createHash('sha256').update(body).digest('hex') !== h.sha256) fail('checksum mismatch (the file is damaged)');

  // copy into fresh, aligned arrays: the file buffer's offsets need not be aligned
  let at = 0;
  const take = (bytes: number) => {
    const part = body.subarray(at, at + bytes);
    at += bytes;
    return new Uint8Array(part).buffer;
  };
  const ids = () => Int32Array.from(h.idBytes === 2 ? new Uint16Array(take(2 * n)) : new Uint32Array(take(4 * n)));
  const topIds = ids();
  const bottomIds = ids();
  const topProbs = new Float32Array(take(4 * n));
  const bottomProbs = new Float32Array(take(4 * n));
  const maxProb = new Float32Array(take(4 * rows));
  return { modelHash: h.modelHash, finalNorm: h.finalNorm, nLayers: h.nLayers, dFf: h.dFf, vocabSize: h.vocabSize, k: h.k, topIds, topProbs, bottomIds, bottomProbs, maxProb };
}
