/**
 * The frame of FFN Lens's exported pages (Compare, a saved inspection): one self-contained HTML
 * document, inline CSS, no script, nothing loaded. Colours come from VS Code's theme variables
 * when a page is shown in the editor (light, dark and high-contrast alike) and fall back to a light
 * page, or a dark one where the browser prefers it, when it is opened on its own. High-contrast
 * themes leave some backgrounds undefined (the diff ones) and mark with borders instead, so the
 * page does the same under them (body.vscode-high-contrast, which VS Code sets in a webview).
 */
import { escapeHtml } from './statistics/reportSvg';

const CSS = `
body{font:13px/1.45 var(--vscode-font-family,system-ui,sans-serif);margin:1rem auto;max-width:980px;padding:0 1rem;
 color:var(--vscode-foreground,#1f2328);background:var(--vscode-editor-background,#fff)}
h1{font-size:1.3rem;margin:.2rem 0}h2{font-size:1.05rem;margin-top:1.4rem;border-bottom:1px solid var(--vscode-panel-border,#d0d7de);padding-bottom:.2rem}
.muted{color:var(--vscode-descriptionForeground,#57606a)}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.side{border:1px solid var(--vscode-panel-border,#d0d7de);border-radius:4px;padding:.5rem .7rem}
.tok{font-family:var(--vscode-editor-font-family,monospace);white-space:pre;border:1px solid transparent;border-radius:3px;padding:0 2px;margin:1px;display:inline-block}
.tok.paired{border-color:var(--vscode-panel-border,#d0d7de)}
.tok.diff{background:var(--vscode-diffEditor-insertedTextBackground,#fff8c5);border-color:var(--vscode-focusBorder,#bf8700)}
body.vscode-high-contrast .tok.paired{border-color:var(--vscode-contrastBorder)}
body.vscode-high-contrast .tok.diff{background:none;color:var(--vscode-editor-foreground);border:2px solid var(--vscode-contrastActiveBorder);font-weight:bold}
table{border-collapse:collapse;margin:.4rem 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--vscode-panel-border,#d0d7de);padding:.15rem .45rem;text-align:left;vertical-align:top}
th{background:var(--vscode-editorWidget-background,#f6f8fa)}
td.num{text-align:right}
td.heat{min-width:1.6rem;text-align:center;font-size:11px}
td.selected{outline:2px solid var(--vscode-focusBorder,#0969da)}
tr.selected>td{font-weight:bold}tr.selected>td:first-child{box-shadow:inset 4px 0 0 var(--vscode-focusBorder,#0969da)}
body.vscode-high-contrast td.selected{outline-color:var(--vscode-contrastActiveBorder)}
body.vscode-high-contrast tr.selected>td:first-child{box-shadow:inset 4px 0 0 var(--vscode-contrastActiveBorder)}
.up{color:var(--vscode-charts-green,#1a7f37)}.down{color:var(--vscode-charts-red,#cf222e)}
code{font-family:var(--vscode-editor-font-family,monospace)}
@media (prefers-color-scheme:dark){body:not([class*=vscode]){background:#0d1117;color:#e6edf3}}
`;

/** A whole page around `body` (already escaped markup). */
export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>${body}</body></html>
`;
}

/** A token, escaped, with its whitespace visible (as the panel shows it). */
export function showToken(t: string): string {
  return escapeHtml(t === '' ? '∅' : t.replace(/ /g, '·').replace(/\n/g, '↵').replace(/\t/g, '→'));
}

export const pct = (p: number): string => `${(p * 100).toFixed(p >= 0.1 ? 0 : 1)}%`;

export { escapeHtml };
