/** `ffn-lens merge`: combine shard indexes (from `index --shard i/n`) into the index a single run gives. */
import { mergeTriggerIndexes, openTriggerIndex } from '../../core/analysis/triggers';
import { parse, UsageError } from '../args';
import { processIo, type Io } from '../io';

export const usage = 'merge --out DIR SHARD_DIR...';

export async function run(argv: string[], io: Io = processIo): Promise<void> {
  const { values, positionals } = parse(argv, { out: { type: 'string', short: 'o' } });
  const out = values.out as string | undefined;
  if (!out) throw new UsageError('--out DIR is required');
  if (positionals.length === 0) throw new UsageError('give the shard index folders to merge');
  await mergeTriggerIndexes(positionals, out);
  const t = openTriggerIndex(out).info.totals;
  io.out(`merged ${positionals.length} shards into ${out}: ${t.tokens.toLocaleString('en-US')} tokens, ${t.paragraphs.toLocaleString('en-US')} paragraphs\n`);
}
