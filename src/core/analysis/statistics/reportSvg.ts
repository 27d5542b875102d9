/**
 * Inline SVG charts for the statistics report, drawn here so the page needs no script,
 * library or remote asset. Colours come from CSS classes (s0, s1, …) the page defines,
 * and every bar carries a <title>, which browsers show as a tooltip without scripting.
 */

export interface Series {
  name: string;
  values: (number | null)[];
  /** Per category a 95% interval drawn as a whisker on the bar (grouped charts only). */
  intervals?: ([number, number] | null)[];
}

export interface ReferenceLine {
  value: number;
  label: string;
}

export interface BarChartSpec {
  title: string;
  categories: string[];
  series: Series[];
  /** Formats an axis or tooltip value, e.g. as a percentage. */
  format: (v: number) => string;
  yMax?: number;
  lines?: ReferenceLine[];
  /** Per category [lo, hi] whiskers over the first series. */
  whiskers?: [number, number][];
  /** Stack the series instead of grouping them (shares summing to 1). */
  stacked?: boolean;
  xLabel?: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const W = 640;
const BASE_H = 260;
const M = { left: 56, right: 12, top: 28, bottom: 44 };

/** A round axis maximum at or above v, so gridlines land on readable values. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

const num = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '0');

/** Legend entries laid out left to right, wrapping into rows; returns the markup and its height. */
function legend(series: Series[]): { svg: string; height: number } {
  const parts: string[] = [];
  let x = M.left;
  let row = 0;
  series.forEach((s, si) => {
    // about 6.2 px per character at the legend's 11 px font: enough to keep entries apart
    const width = 14 + 6.2 * s.name.length + 18;
    if (x > M.left && x + width > W - M.right) {
      x = M.left;
      row++;
    }
    const y = 8 + 16 * row;
    parts.push(`<rect class="s${si}" x="${num(x)}" y="${y}" width="10" height="10"/><text class="legend" x="${num(x + 14)}" y="${y + 9}">${escapeHtml(s.name)}</text>`);
    x += width;
  });
  return { svg: parts.join(''), height: 16 * (row + 1) };
}

function whisker(cx: number, y: (v: number) => number, [lo, hi]: [number, number], what: string, format: (v: number) => string): string {
  return `<line class="whisker" x1="${num(cx)}" x2="${num(cx)}" y1="${num(y(Math.max(0, lo)))}" y2="${num(y(hi))}"><title>${escapeHtml(`${what}: ${format(lo)} – ${format(hi)}`)}</title></line>`;
}

export function barChart(spec: BarChartSpec): string {
  const key = legend(spec.series);
  const plotTop = M.top - 16 + key.height;
  const H = BASE_H + key.height - 16;
  const plotW = W - M.left - M.right;
  const plotH = H - plotTop - M.bottom;
  const finite = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null && Number.isFinite(x));
  const totals = spec.stacked ? spec.categories.map((_, i) => spec.series.reduce((a, s) => a + (s.values[i] ?? 0), 0)) : spec.series.flatMap((s) => finite(s.values));
  const highs = spec.series.flatMap((s) => finite((s.intervals ?? []).map((w) => w?.[1] ?? null)));
  const peak = Math.max(0, ...totals, ...(spec.lines ?? []).map((l) => l.value), ...(spec.whiskers ?? []).map((w) => w[1]), ...highs);
  const yMax = spec.yMax ?? niceMax(peak);
  const y = (v: number) => plotTop + plotH * (1 - Math.min(v, yMax) / yMax);
  const band = plotW / Math.max(1, spec.categories.length);
  const groups = spec.stacked ? 1 : spec.series.length;
  const barW = (band * 0.8) / groups;
  const parts: string[] = [];

  for (let g = 0; g <= 4; g++) {
    const v = (yMax * g) / 4;
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${num(y(v))}" y2="${num(y(v))}"/>`);
    parts.push(`<text class="tick" x="${M.left - 6}" y="${num(y(v) + 4)}" text-anchor="end">${escapeHtml(spec.format(v))}</text>`);
  }
  spec.categories.forEach((cat, i) => {
    const x0 = M.left + band * i + band * 0.1;
    let stackBase = 0;
    spec.series.forEach((s, si) => {
      const v = s.values[i];
      if (v === null || !Number.isFinite(v)) return;
      const x = spec.stacked ? x0 : x0 + barW * si;
      const top = spec.stacked ? y(stackBase + v) : y(v);
      const bottom = spec.stacked ? y(stackBase) : y(0);
      stackBase += spec.stacked ? v : 0;
      const tip = `${cat} · ${s.name}: ${spec.format(v)}`;
      parts.push(`<rect class="s${si}" x="${num(x)}" y="${num(top)}" width="${num(Math.max(1, barW - 1))}" height="${num(Math.max(0, bottom - top))}"><title>${escapeHtml(tip)}</title></rect>`);
      const ci = spec.stacked ? null : s.intervals?.[i];
      if (ci && Number.isFinite(ci[0]) && Number.isFinite(ci[1])) parts.push(whisker(x + barW / 2, y, ci, `${cat} · ${s.name}, 95% interval`, spec.format));
    });
    const w = spec.whiskers?.[i];
    if (w) parts.push(whisker(x0 + barW / 2, y, w, cat, spec.format));
    parts.push(`<text class="tick" x="${num(M.left + band * (i + 0.5))}" y="${H - M.bottom + 16}" text-anchor="middle">${escapeHtml(cat)}</text>`);
  });
  for (const l of spec.lines ?? []) {
    parts.push(`<line class="ref" x1="${M.left}" x2="${W - M.right}" y1="${num(y(l.value))}" y2="${num(y(l.value))}"><title>${escapeHtml(`${l.label}: ${spec.format(l.value)}`)}</title></line>`);
    parts.push(`<text class="reflabel" x="${W - M.right - 4}" y="${num(y(l.value) - 4)}" text-anchor="end">${escapeHtml(l.label)}</text>`);
  }
  if (spec.xLabel) parts.push(`<text class="axis" x="${M.left + plotW / 2}" y="${H - 6}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(spec.title)}">${key.svg}${parts.join('')}</svg>`;
}
