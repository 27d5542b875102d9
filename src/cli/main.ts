/** ffn-lens: the command-line shell over the core. */
import { UsageError } from './args';
import { processIo, type Io } from './io';
import * as activations from './commands/activations';
import * as inspect from './commands/inspect';
import * as report from './commands/report';
import * as search from './commands/search';
import * as values from './commands/values';
import * as indexCmd from './commands/index';
import * as merge from './commands/merge';
import * as triggers from './commands/triggers';
import * as patterns from './commands/patterns';
import * as attributeCmd from './commands/attribute';
import * as indexStatus from './commands/indexStatus';
import * as compare from './commands/compare';

interface Command {
  usage: string;
  run(argv: string[], io: Io): Promise<void>;
}

const COMMANDS: Record<string, Command> = { inspect, activations, values, search, report, index: indexCmd, 'index-status': indexStatus, merge, triggers, patterns, compare, attribute: attributeCmd };

function help(): string {
  return ['usage: ffn-lens <command> [options]', '', ...Object.values(COMMANDS).map((c) => `  ffn-lens ${c.usage}`), '', 'Models: a Hugging Face directory, a llama2.c .bin file, or a hub id (default: ../shared/models/gpt2-books when present).'].join('\n');
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(help() + '\n');
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`ffn-lens: unknown command "${name}"\n\n${help()}\n`);
    return 2;
  }
  try {
    await command.run(rest, io);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ffn-lens ${name}: ${e.message}\nusage: ffn-lens ${command.usage}\n`);
      return 2;
    }
    io.err(`ffn-lens ${name}: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
