/**
 * Corpus reading under the index's fixed convention, so indexes are comparable across
 * tools: files (or the supported files of folders, see corpusFiles.ts) are read in the
 * order given; each holds records of UTF-8 text (a plain-text file is one record, a JSON
 * Lines file one per line, a Parquet file one per row; see corpusRecords.ts); inside a
 * record a paragraph is a maximal run of lines holding a non-whitespace character, joined
 * with "\n" and trimmed; a record's end ends its paragraph; paragraphs are numbered from 0
 * across all files. Lines end at "\n" or "\r\n".
 *
 * Files are streamed, never read whole, so memory does not grow with the corpus. A first
 * pass (scanCorpus) validates and hashes every file before anything is written, and counts
 * the malformed records it skips; the second (readParagraphs) re-hashes as it goes and
 * fails if a file vanished or changed.
 */
import { CorpusError, listCorpusFiles, type CorpusFormat } from './corpusFiles';
import { ByteTally, fileRecords } from './corpusRecords';

export { CorpusError, type CorpusFormat };

/** The JSON Lines field or Parquet column holding the text, unless told otherwise. */
export const DEFAULT_TEXT_FIELD = 'text';

export interface CorpusFile {
  /** Absolute path when indexed. */
  path: string;
  format: CorpusFormat;
  /** The JSON field or Parquet column the text came from (absent for plain text). */
  field?: string;
  /** Of the bytes on disk (compressed ones for gzip). */
  sha256: string;
  bytes: number;
  /** Global number of the file's first paragraph. */
  firstParagraph: number;
  paragraphs: number;
  /** Malformed records skipped. */
  skipped: number;
}

/** A malformed record: the file, where in it (`line 12`, `row 40`) and what was wrong. */
export interface SkippedRecord {
  file: string;
  where: string;
  reason: string;
}

/** What the first pass learns beyond the recorded facts: the text volume for ETAs, and what it left out. */
export interface ScannedCorpus {
  files: CorpusFile[];
  paragraphs: number;
  /** Sum of paragraph lengths in UTF-16 units. */
  chars: number;
  /** Malformed records skipped, over all files. */
  skipped: number;
  /** The first MAX_SKIPPED_EXAMPLES of them. */
  skippedExamples: SkippedRecord[];
  /** Entries of corpus folders that are not corpus files. */
  ignored: string[];
}

export interface ScanOptions {
  /** JSON Lines field / Parquet column of the text (default DEFAULT_TEXT_FIELD). */
  textField?: string;
  signal?: AbortSignal;
}

const MAX_SKIPPED_EXAMPLES = 20;

export interface Paragraph {
  index: number;
  text: string;
  file: number;
}

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

/** Whether a format keeps its text in a named field or column. */
const hasField = (f: CorpusFormat) => f !== 'text' && f !== 'text.gz';

const rethrowable = (e: unknown) => e instanceof CorpusError || (e as Error).name === 'AbortError';

/** First pass: every file exists and holds text, and the corpus has at least one paragraph. */
export async function scanCorpus(inputs: readonly string[], opts: ScanOptions = {}): Promise<ScannedCorpus> {
  if (inputs.length === 0) throw new CorpusError('no corpus files given');
  const field = opts.textField ?? DEFAULT_TEXT_FIELD;
  if (!field) throw new CorpusError('the text field name is empty');
  const listing = await listCorpusFiles(inputs);
  const out: CorpusFile[] = [];
  const skippedExamples: SkippedRecord[] = [];
  let skipped = 0;
  let paragraphs = 0;
  let chars = 0;
  for (const { path: file, format } of listing.files) {
    const first = paragraphs;
    const splitter = new ParagraphSplitter((p) => {
      paragraphs++;
      chars += p.length;
    });
    const tally = new ByteTally();
    let records = 0;
    let bad = 0;
    let firstBad: SkippedRecord | undefined;
    try {
      for await (const ev of fileRecords(file, format, field, tally, opts.signal)) {
        if ('text' in ev) splitter.push(ev.text);
        else if ('end' in ev) {
          splitter.end();
          records++;
        } else {
          const s = { file, ...ev.skip };
          firstBad ??= s;
          bad++;
          if (skippedExamples.length < MAX_SKIPPED_EXAMPLES) skippedExamples.push(s);
        }
      }
    } catch (e) {
      if (rethrowable(e)) throw e;
      throw new CorpusError(`corpus file ${file} cannot be read: ${(e as Error).message}`);
    }
    if (records === 0 && firstBad) {
      const hint = hasField(format) ? `; is --text-field ${field} the right ${format === 'parquet' ? 'column' : 'field'}?` : '';
      throw new CorpusError(`${file} holds no usable record: all ${bad} are malformed (${firstBad.where}: ${firstBad.reason})${hint}`);
    }
    skipped += bad;
    out.push({ path: file, format, ...(hasField(format) ? { field } : {}), sha256: tally.digest(), bytes: tally.bytes, firstParagraph: first, paragraphs: paragraphs - first, skipped: bad });
  }
  if (paragraphs === 0) throw new CorpusError(`the corpus is empty: ${inputs.join(', ')} ${inputs.length === 1 ? 'has' : 'have'} no line with a non-whitespace character`);
  return { files: out, paragraphs, chars, skipped, skippedExamples, ignored: listing.ignored };
}

/**
 * The corpus files an index names (absolute paths written when it was built), usable only
 * if they are still those very files: the same sha256 as the index recorded. A changed
 * corpus would skew statistics, and an index from elsewhere cannot point at other files.
 */
export async function indexedCorpus(files: readonly CorpusFile[], signal?: AbortSignal): Promise<string[]> {
  const paths = files.map((f) => f.path);
  const scanned = await scanCorpus(paths, { signal, textField: files.find((f) => f.field)?.field });
  const diff = corpusDifference(files, scanned.files);
  if (diff) throw new CorpusError(`the corpus files the trigger index names are not those it was built from (${diff}); give the corpus explicitly`);
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
    const tally = new ByteTally();
    const changed = () => new CorpusError(`corpus file ${f.path} changed during indexing; start again (its content no longer matches the first pass)`);
    try {
      for await (const ev of fileRecords(f.path, f.format, f.field ?? DEFAULT_TEXT_FIELD, tally, signal)) {
        if ('text' in ev) splitter.push(ev.text);
        else if ('end' in ev) splitter.end();
        while (pending.length) yield { index: index++, text: pending.shift()!, file: fi };
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CorpusError(`corpus file ${f.path} vanished during indexing`);
      if (e instanceof CorpusError) throw changed();
      if ((e as Error).name === 'AbortError') throw e;
      throw new CorpusError(`corpus file ${f.path} cannot be read any more: ${(e as Error).message}`);
    }
    if (tally.bytes !== f.bytes || tally.digest() !== f.sha256 || index !== f.firstParagraph + f.paragraphs) throw changed();
  }
}

/**
 * The first way two indexes' corpora differ (file count, or a file's content, format or
 * text field), in words; undefined when they are the same corpus. Paths may differ: a
 * cluster node may mount the same files elsewhere.
 */
export function corpusDifference(a: readonly CorpusFile[], b: readonly CorpusFile[]): string | undefined {
  if (a.length !== b.length) return `${a.length} corpus files against ${b.length}`;
  const name = (f: CorpusFile) => f.path.split(/[\\/]/).pop();
  const what = (f: CorpusFile) => `${name(f)} (${f.format ?? 'text'}${f.field ? `, field "${f.field}"` : ''}, sha256 ${f.sha256.slice(0, 12)}…)`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.sha256 !== y.sha256 || (x.format ?? 'text') !== (y.format ?? 'text') || x.field !== y.field) return `corpus file ${i + 1} is ${what(x)} against ${what(y)}`;
  }
  return undefined;
}
