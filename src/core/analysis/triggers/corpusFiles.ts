/**
 * Which files a corpus is made of and how each is stored. Inputs are files or folders; a
 * folder contributes every supported file inside it (recursively, hidden entries and
 * symlinks left out so a corpus folder never leads outside itself), sorted by relative
 * path in code-unit order so the paragraph numbering is the same on every machine. A
 * file's format comes from its leading bytes where they are telling (gzip, Parquet) and
 * from its name otherwise; a name that promises a format the bytes do not hold is an error.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { READ_NONBLOCKING } from '../../io/readFile';

/** How a corpus file is stored; recorded per file in the index. */
export type CorpusFormat = 'text' | 'text.gz' | 'jsonl' | 'jsonl.gz' | 'parquet';

/** A problem with the corpus itself, phrased for the person who chose it. */
export class CorpusError extends Error {}

const BY_EXTENSION: Record<string, 'text' | 'jsonl' | 'parquet'> = {
  '.txt': 'text',
  '.text': 'text',
  '.raw': 'text',
  '.md': 'text',
  '.tokens': 'text',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
};

/** The extensions a folder's files are picked by (also offered by the extension's file picker). */
export const CORPUS_EXTENSIONS: readonly string[] = Object.entries(BY_EXTENSION)
  .flatMap(([ext, format]) => (format === 'parquet' ? [ext] : [ext, `${ext}.gz`]))
  .map((e) => e.slice(1));

/** The format a file name announces, or undefined for a name no supported format uses. */
export function formatByName(name: string): CorpusFormat | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.gz')) {
    const inner = formatByName(lower.slice(0, -3));
    return inner === 'text' || inner === 'jsonl' ? `${inner}.gz` : undefined;
  }
  return BY_EXTENSION[path.extname(lower)];
}

const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = Buffer.from('PAR1', 'latin1');

/** A file's format: its magic bytes first (gzip, Parquet), then its name; plain text by default. */
export async function detectFormat(file: string): Promise<CorpusFormat> {
  const head = Buffer.alloc(4);
  const fh = await fsp.open(file, READ_NONBLOCKING);
  let n: number;
  try {
    n = (await fh.read(head, 0, 4, 0)).bytesRead;
  } finally {
    await fh.close();
  }
  const byName = formatByName(path.basename(file));
  if (n >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1]) {
    const inner = byName === 'jsonl' || byName === 'jsonl.gz' ? 'jsonl' : 'text';
    return `${inner}.gz`;
  }
  if (n === 4 && head.equals(PARQUET_MAGIC)) return 'parquet';
  if (byName === 'parquet') throw new CorpusError(`${file} is named .parquet but is not a Parquet file (it does not start with PAR1)`);
  if (byName?.endsWith('.gz')) throw new CorpusError(`${file} is named .gz but is not gzip data`);
  return byName ?? 'text';
}

export interface ListedFile {
  path: string;
  format: CorpusFormat;
}

export interface CorpusListing {
  files: ListedFile[];
  /** Entries of named folders that were left out (unsupported name, symlink, special file). */
  ignored: string[];
}

async function walk(root: string, rel: string, found: string[], ignored: string[]): Promise<void> {
  const entries = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await walk(root, r, found, ignored);
    else if (e.isFile() && formatByName(e.name)) found.push(r);
    else ignored.push(path.join(root, r));
  }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function describe(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : (e as Error).message;
}

/** The corpus files of `inputs` in corpus order, each with its format. */
export async function listCorpusFiles(inputs: readonly string[]): Promise<CorpusListing> {
  const files: ListedFile[] = [];
  const ignored: string[] = [];
  for (const input of inputs) {
    const abs = path.resolve(input);
    try {
      const stat = await fsp.stat(abs);
      if (stat.isDirectory()) {
        const found: string[] = [];
        await walk(abs, '', found, ignored);
        if (found.length === 0) throw new CorpusError(`the corpus folder ${input} holds no supported file (${CORPUS_EXTENSIONS.map((e) => `.${e}`).join(', ')})`);
        for (const rel of found.sort(byCodeUnits)) {
          const file = path.join(abs, ...rel.split('/'));
          files.push({ path: file, format: await detectFormat(file) });
        }
      } else if (stat.isFile()) {
        files.push({ path: abs, format: await detectFormat(abs) });
      } else {
        throw new CorpusError(`corpus file ${input} is not a regular file`);
      }
    } catch (e) {
      if (e instanceof CorpusError) throw e;
      throw new CorpusError(`corpus file ${input} ${describe(e)}`);
    }
  }
  return { files, ignored };
}
