/** Plain-text tables for terminal output. */

/** Token text made printable on one line: newlines and tabs shown as escapes. */
export function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}
