/**
 * Fuzzing the files a model directory is made of: seeded byte flips, truncations and
 * byte-run overwrites of a small model.safetensors, config.json and tokenizer.json. Every
 * case must either load and give finite results, or fail with a clear one-line error;
 * never a crash, a hang, a raw JavaScript error, or success with NaN.
 *
 * The cases run one after another in one child process (test/fixtures/fuzzRunner.ts);
 * each has a deadline, and a case that passes it is reported as a hang (the child is
 * restarted for the rest).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { seededRandom } from '../../src/core/analysis/statistics/sample';
import { writePlantedModel } from '../fixtures/planted';
import type { FuzzOutcome } from '../fixtures/fuzzRunner';
import { tempDir } from '../support';

const CASES_PER_FILE = Number(process.env.FFN_LENS_FUZZ_CASES ?? 100);
const SEED = Number(process.env.FFN_LENS_FUZZ_SEED ?? 20261130);
const DEADLINE_MS = 20_000;
const FILES = ['model.safetensors', 'config.json', 'tokenizer.json'] as const;

/** A mutation of `bytes`, chosen and parameterised by `rand`; also says what it did. */
function mutate(bytes: Buffer, rand: () => number): { bytes: Buffer; what: string } {
  const at = (n = bytes.length) => Math.floor(rand() * n);
  // bias towards the start: headers and structure live there
  const early = () => (rand() < 0.5 ? at(Math.min(bytes.length, 512)) : at());
  const out = Buffer.from(bytes);
  const kind = rand();
  if (kind < 0.4) {
    const flips = 1 + at(4);
    const where: number[] = [];
    for (let i = 0; i < flips; i++) {
      const p = early();
      out[p] ^= 1 << at(8);
      where.push(p);
    }
    return { bytes: out, what: `bit flips at ${where.join(',')}` };
  }
  if (kind < 0.6) {
    const len = early();
    return { bytes: out.subarray(0, len), what: `truncated to ${len} bytes` };
  }
  if (kind < 0.8) {
    const p = early();
    const n = 1 + at(16);
    const value = [0x00, 0xff, 0x7f, 0x39, 0x2d, 0x22, 0x7b][at(7)];
    out.fill(value, p, Math.min(out.length, p + n));
    return { bytes: out, what: `${n} bytes of 0x${value.toString(16)} at ${p}` };
  }
  // a digit in a JSON number swapped for another (configs: sizes, counts, ids)
  const digits = [...out.entries()].filter(([, b]) => b >= 0x30 && b <= 0x39).map(([i]) => i);
  if (digits.length === 0) return { bytes: out.subarray(0, 0), what: 'emptied' };
  const p = digits[at(digits.length)];
  out[p] = 0x30 + at(10);
  return { bytes: out, what: `digit at ${p} set to ${String.fromCharCode(out[p])}` };
}

/** One child running cases in order; `run` resolves with the outcome or 'hang'. */
class Runner {
  private child!: ChildProcessWithoutNullStreams;
  private waiting?: (o: FuzzOutcome) => void;

  constructor(private readonly cacheDir: string) {
    this.start();
  }

  private start(): void {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'fixtures', 'fuzzRunner.ts'), this.cacheDir]);
    this.child.stderr.resume();
    readline.createInterface({ input: this.child.stdout }).on('line', (l) => this.waiting?.(JSON.parse(l) as FuzzOutcome));
  }

  async run(dir: string): Promise<FuzzOutcome | 'hang' | 'crash'> {
    let timer: NodeJS.Timeout | undefined;
    const child = this.child;
    const result = await new Promise<FuzzOutcome | 'hang' | 'crash'>((resolve) => {
      this.waiting = resolve;
      timer = setTimeout(() => resolve('hang'), DEADLINE_MS);
      child.once('exit', () => resolve('crash'));
      child.stdin.write(dir + '\n');
    });
    clearTimeout(timer);
    child.removeAllListeners('exit');
    if (result === 'hang' || result === 'crash') {
      child.kill('SIGKILL');
      this.start();
    }
    return result;
  }

  stop(): void {
    this.child.stdin.end();
  }
}

/** What a clear error is not: a JavaScript runtime error or a message meant for nobody. */
const RAW = /Cannot read propert|of undefined|of null|is not a function|is not iterable|is not defined|Invalid (typed )?array length|Maximum call stack|out of memory|\[object Object\]|^internal/;

function verdict(o: FuzzOutcome | 'hang' | 'crash'): string | undefined {
  if (o === 'hang') return `no answer within ${DEADLINE_MS / 1000} s (a hang)`;
  if (o === 'crash') return 'the process died';
  if (o.loaded) return o.finite ? undefined : 'loaded and gave non-finite results (NaN or ±Infinity) without an error';
  const e = o.error!;
  if (['TypeError', 'RangeError', 'ReferenceError', 'EvalError', 'URIError'].includes(e.name)) return `a raw ${e.name}: ${e.message}`;
  if (e.message.includes('\n')) return `a multi-line error: ${JSON.stringify(e.message)}`;
  if (RAW.test(e.message)) return `an unclear error: ${e.message}`;
  return undefined;
}

test(`fuzz: ${CASES_PER_FILE} seeded mutations each of model.safetensors, config.json and tokenizer.json load or fail clearly`, { timeout: 30 * 60_000 }, async (t) => {
  const root = tempDir('ffn-lens-fuzz-');
  const base = writePlantedModel({ words: ['red', 'green', 'blue'], plants: [{ layer: 0, key: 1, trigger: 'red', promotes: 'blue' }] }, path.join(root, 'base'));
  const originals = Object.fromEntries(FILES.map((f) => [f, fs.readFileSync(path.join(base.dir, f))]));
  const runner = new Runner(path.join(root, 'cache'));
  const rand = seededRandom(SEED);
  const failures: string[] = [];
  const tally = { loaded: 0, refused: 0 };
  try {
    for (const file of FILES) {
      for (let i = 0; i < CASES_PER_FILE; i++) {
        const dir = path.join(root, `${file}-${i}`);
        fs.mkdirSync(dir);
        for (const f of FILES) if (f !== file) fs.copyFileSync(path.join(base.dir, f), path.join(dir, f));
        const { bytes, what } = mutate(originals[file], rand);
        fs.writeFileSync(path.join(dir, file), bytes);
        const outcome = await runner.run(dir);
        const bad = verdict(outcome);
        if (bad) failures.push(`${file} #${i} (${what}): ${bad}`);
        else if (typeof outcome === 'object') tally[outcome.loaded ? 'loaded' : 'refused']++;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    runner.stop();
  }
  t.diagnostic(`seed ${SEED}: ${tally.loaded} loaded with finite results, ${tally.refused} refused with a clear error, ${failures.length} failures`);
  assert.deepEqual(failures, []);
});
