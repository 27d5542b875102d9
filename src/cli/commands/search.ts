/** `ffn-lens search`: the memories whose values promote (or suppress) a word. */
import { MemorySearch, searchWord, valueTable, type WordSearchResult } from '../../core';
import { intOption, parse, UsageError } from '../args';
import { processIo, type Io } from '../io';
import { loadFromArgs, modelOptions } from '../load';
import { stageReporter } from '../stages';
import { printable, table } from '../table';

export const usage = 'search --model M --token WORD [--suppress] [--top N] [--final-norm] [--json]';

function human(r: WordSearchResult, text: (id: number) => string): string {
  const verb = r.side === 'promote' ? 'promote' : 'suppress';
  const tokens = r.tokens.map((t) => `"${printable(t.text)}" (${t.id})`).join(', ');
  if (r.hits.length === 0) return `no memory's value ${verb}s ${tokens} among its top entries`;
  const rows = r.hits.map((h, i) => [String(i + 1), String(h.layer), String(h.key), `"${printable(text(h.tokenId))}"`, h.prob.toExponential(3), String(h.rank)]);
  return [`memories that ${verb} ${tokens}, ${r.side === 'promote' ? 'most probable' : 'least probable'} first`, table(['#', 'layer', 'key', 'token', 'p', 'rank in pᵢ'], rows)].join('\n');
}

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values } = parse(argv, {
    ...modelOptions,
    token: { type: 'string', short: 't' },
    suppress: { type: 'boolean' },
    top: { type: 'string', short: 'n' },
    'final-norm': { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const word = values.token as string | undefined;
  if (!word) throw new UsageError('--token WORD is required');
  const limit = intOption(values, 'top', 20);
  const model = await loadFromArgs(values, io);
  try {
    const progress = stageReporter(io, Boolean(values.quiet));
    const table = await valueTable(model, {
      finalNorm: Boolean(values['final-norm']),
      cacheDir: values.cache as string | undefined,
      onProgress: (p) => progress('decoding every value vector (cached for next time)', p.done / p.total),
      onCacheProblem: (m) => progress(m),
    });
    const result = searchWord(MemorySearch.build(table), model.tokenizer, word, { side: values.suppress ? 'suppress' : 'promote', limit });
    io.out((values.json ? JSON.stringify({ model: model.info.name, finalNorm: table.finalNorm, ...result }) : human(result, (id) => model.tokenizer.tokenText(id))) + '\n');
  } finally {
    await model.dispose();
  }
}
