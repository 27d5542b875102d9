/** Shell words: quoting arguments into command lines people can paste, and splitting a quoted string back. */
import { UsageError } from './args';

/** `s` as one POSIX shell word (unquoted when that is safe). */
export const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * Splits a string into words as a POSIX shell would, for options that carry a command line
 * (`--sbatch-args "--partition=gpu --time='2:00:00'"`): whitespace separates words; single
 * quotes keep everything; double quotes keep everything but a backslash before `"` or `\`;
 * a backslash outside quotes escapes the next character. No expansion of any kind.
 */
export function splitShellWords(s: string, option: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const add = (c: string) => (word = (word ?? '') + c);
  while (i < s.length) {
    const c = s[i++];
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = s.indexOf("'", i);
      if (end < 0) throw new UsageError(`${option}: unbalanced ' in "${s}"`);
      add(s.slice(i, end));
      i = end + 1;
    } else if (c === '"') {
      add('');
      for (;;) {
        if (i >= s.length) throw new UsageError(`${option}: unbalanced " in "${s}"`);
        const d = s[i++];
        if (d === '"') break;
        if (d === '\\' && (s[i] === '"' || s[i] === '\\')) add(s[i++]);
        else add(d);
      }
    } else if (c === '\\' && i < s.length) add(s[i++]);
    else add(c);
  }
  if (word !== undefined) words.push(word);
  return words;
}
