// Export Analysis: an Inspect Selection result as JSON (the panel's whole view) or CSV (one row
// per layer, token and top memory). Kept free of vscode so it is unit-tested directly.

import type { InspectView } from '../protocol';

export type ExportFormat = 'json' | 'csv';

export function formatAnalysis(view: InspectView, format: ExportFormat): string {
  return format === 'json' ? JSON.stringify(view, null, 2) + '\n' : toCsv(view);
}

const HEADER = ['layer', 'position', 'token', 'token_id', 'start', 'end', 'rank', 'key', 'coeff', 'active', 'max_coeff'];

function toCsv(view: InspectView): string {
  const lines = [HEADER.join(',')];
  for (const layer of view.layers) {
    layer.positions.forEach((cell, p) => {
      const t = view.tokens[p];
      cell.keys.forEach((key, r) => {
        lines.push([layer.layer, p, csvField(t.text), t.id, t.start, t.end, r + 1, key, cell.coeffs[r], cell.active, cell.maxCoeff].join(','));
      });
    });
  }
  return lines.join('\n') + '\n';
}

/** RFC 4180: quote every token (they hold spaces, commas, quotes and newlines), doubling quotes. */
export function csvField(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
