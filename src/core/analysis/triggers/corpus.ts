/**
 * Corpus reading under the index's fixed convention, so indexes are comparable across
 * tools: files are UTF-8, read in the order given; a paragraph is a maximal run of lines
 * holding a non-whitespace character, joined with "\n" and trimmed; paragraphs are
 * numbered from 0 across all files. Lines end at "\n" or "\r\n".
 *
 * Files are streamed in chunks, never read whole, so memory does not grow with the corpus.
 * A first pass (scanCorpus) validates and hashes every file before anything is written;
 * the second (readParagraphs) re-hashes as it goes and fails if a file vanished or changed.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { READ_NONBLOCKING } from '../../io/readFile';

export interface CorpusFile {
  /** Absolute path when indexed. */
  path: string;
  sha256: string;
  bytes: number;
  /** Global number of the file's first paragraph. */
  firstParagraph: number;
  paragraphs: number;
}

/** What the first pass learns beyond the recorded facts: the text volume, for ETAs. */
export interface ScannedCorpus {
  files: CorpusFile[];
  paragraphs: number;
  /** Sum of paragraph lengths in UTF-16 units. */
  chars: number;
}

export interface Paragraph {
  index: number;
  text: string;
  file: number;
}

const CHUNK = 1 << 20;

/** Splits streamed text into paragraphs; holds at most one paragraph and one partial line. */
export class ParagraphSplitter {
  private partial = '';
  private lines: string[] = [];

  constructor(private readonly emit: (paragraph: string) => void) {}

  push(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) this.line(line);
  }

  end(): void {
    if (this.partial) this.line(this.partial);
    this.partial = '';
    this.flush();
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/\S/.test(line)) this.lines.push(line);
    else this.flush();
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    this.emit(this.lines.join('\n').trim());
    this.lines = [];
  }
}

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'cannot be read (permission denied)' : (e as Error).message;
}

/**
 * Streams one file: hashes it, rejects binary and non-UTF-8 content with the byte
 * offset, and hands decoded text to `onText`. Returns the sha256 and the byte count.
 */
async function streamFile(file: string, onText: (text: string) => void, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const fh = await fsp.open(file, READ_NONBLOCKING);
  try {
    const stat = await fh.stat();
    if (stat.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
    // a FIFO or a device (/dev/zero behind a link) would never end
    if (!stat.isFile()) throw new CorpusError(`corpus file ${file} is not a regular file (a FIFO or a device); give text files`);
    const hash = createHash('sha256');
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const buf = Buffer.allocUnsafe(CHUNK);
    let offset = 0;
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      const nul = chunk.indexOf(0);
      if (nul >= 0) throw new CorpusError(`${file} looks binary (a NUL byte at offset ${offset + nul}); the corpus must be UTF-8 text`);
      hash.update(chunk);
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw new CorpusError(`${file} is not valid UTF-8 (bad bytes in ${offset}..${offset + bytesRead}); convert it to UTF-8 first`);
      }
      onText(text);
      offset += bytesRead;
    }
    try {
      onText(decoder.decode());
    } catch {
      throw new CorpusError(`${file} is not valid UTF-8 (it ends inside a multi-byte character)`);
    }
    return { sha256: hash.digest('hex'), bytes: offset };
  } finally {
    await fh.close();
  }
}

/** A problem with the corpus itself, phrased for the person who chose it. */
export class CorpusError extends Error {}

/** First pass: every file exists, is UTF-8 text, and the corpus has at least one paragraph. */
export async function scanCorpus(files: readonly string[], signal?: AbortSignal): Promise<ScannedCorpus> {
  if (files.length === 0) throw new CorpusError('no corpus files given');
  const out: CorpusFile[] = [];
  let paragraphs = 0;
  let chars = 0;
  for (const f of files) {
    const abs = path.resolve(f);
    const first = paragraphs;
    const splitter = new ParagraphSplitter((p) => {
      paragraphs++;
      chars += p.length;
    });
    let facts: { sha256: string; bytes: number };
    try {
      facts = await streamFile(abs, (t) => splitter.push(t), signal);
    } catch (e) {
      if (e instanceof CorpusError || (e as Error).name === 'AbortError') throw e;
      throw new CorpusError(`corpus file ${f} ${describe(e)}`);
    }
    splitter.end();
    out.push({ path: abs, sha256: facts.sha256, bytes: facts.bytes, firstParagraph: first, paragraphs: paragraphs - first });
  }
  if (paragraphs === 0) throw new CorpusError(`the corpus is empty: ${files.join(', ')} ${files.length === 1 ? 'has' : 'have'} no line with a non-whitespace character`);
  return { files: out, paragraphs, chars };
}

/**
 * The corpus files an index names (absolute paths written when it was built), usable only
 * if they are still those very files: the same sha256 as the index recorded. A changed
 * corpus would skew statistics, and an index from elsewhere cannot point at other files.
 */
export async function indexedCorpus(files: readonly CorpusFile[], signal?: AbortSignal): Promise<string[]> {
  const paths = files.map((f) => f.path);
  const scanned = await scanCorpus(paths, signal);
  scanned.files.forEach((f, i) => {
    if (f.sha256 !== files[i].sha256) throw new CorpusError(`corpus file ${f.path} is not the file the trigger index was built from (its content differs); give the corpus explicitly`);
  });
  return paths;
}

/**
 * Second pass: the paragraphs in order. Fails clearly when a file vanished or changed
 * since the first pass (its hash or paragraph count differs), so an index never mixes
 * two versions of a corpus.
 */
export async function* readParagraphs(files: readonly CorpusFile[], signal?: AbortSignal): AsyncGenerator<Paragraph> {
  for (let fi = 0; fi < files.length; fi++) {
    const f = files[fi];
    const pending: string[] = [];
    let index = f.firstParagraph;
    const splitter = new ParagraphSplitter((p) => pending.push(p));
    // Pull the file through in chunks, yielding paragraphs as they complete.
    const fh = await fsp.open(f.path, READ_NONBLOCKING).catch((e: NodeJS.ErrnoException) => {
      throw new CorpusError(`corpus file ${f.path} ${e.code === 'ENOENT' ? 'vanished during indexing' : `cannot be read any more: ${describe(e)}`}`);
    });
    try {
      const hash = createHash('sha256');
      const decoder = new TextDecoder('utf-8', { fatal: true });
      const buf = Buffer.allocUnsafe(CHUNK);
      let offset = 0;
      const changed = () => new CorpusError(`corpus file ${f.path} changed during indexing; start again (its content no longer matches the first pass)`);
      for (;;) {
        signal?.throwIfAborted();
        const { bytesRead } = await fh.read(buf, 0, CHUNK, offset);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        hash.update(chunk);
        offset += bytesRead;
        try {
          splitter.push(decoder.decode(chunk, { stream: true }));
        } catch {
          throw changed();
        }
        while (pending.length) yield { index: index++, text: pending.shift()!, file: fi };
      }
      try {
        splitter.push(decoder.decode());
      } catch {
        throw changed();
      }
      splitter.end();
      while (pending.length) yield { index: index++, text: pending.shift()!, file: fi };
      if (offset !== f.bytes || hash.digest('hex') !== f.sha256 || index !== f.firstParagraph + f.paragraphs) throw changed();
    } finally {
      await fh.close();
    }
  }
}
