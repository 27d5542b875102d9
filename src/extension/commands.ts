// Commands as a table of factories, name → (ctx) → handler, all registered under "ffnLens.".
// Each entry must also be declared in package.json's contributes.commands (title, category).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { buildTriggerIndexCommand } from './buildIndex';
import type { Ctx } from './ctx';
import { SECTION } from './config';
import type { EngineProgress } from './engineProtocol';
import { formatAnalysis, type ExportFormat } from './exportAnalysis';
import { inspectIntoPanel } from './inspectText';
import { openPaperReport, saveReport } from './paperReport';
import { compareSelections as compareTexts } from './compare';
import { exportHtml as exportHtmlPage, openSession as openSessionFile, saveSession as saveSessionFile } from './session';

type Handler = (...args: unknown[]) => unknown;
type Factory = (ctx: Ctx) => Handler;

const inspectSelection: Factory = (ctx) => async () => {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showWarningMessage('FFN Lens: open a text file and select some text to inspect.');
    return;
  }
  // An empty selection means "the current line": quick to use from the keybinding.
  const range = editor.selection.isEmpty ? editor.document.lineAt(editor.selection.active.line).range : editor.selection;
  const text = editor.document.getText(range);
  if (!text.trim()) {
    void vscode.window.showWarningMessage('FFN Lens: the selection is empty.');
    return;
  }
  await inspectIntoPanel(ctx, text, { topK: ctx.config.topK, threshold: ctx.config.threshold, startedAt: Date.now() });
};

const selectModel: Factory = (ctx) => async () => {
  type Item = vscode.QuickPickItem & { spec?: string; action?: 'browse' | 'hub' };
  const items: Item[] = [];
  for (const dir of localModelCandidates()) items.push({ label: path.basename(dir), description: dir, spec: dir });
  items.push({ label: 'openai-community/gpt2', description: 'Hugging Face hub (needs the model in the cache offline)', spec: 'openai-community/gpt2' });
  items.push({ label: '$(folder) Browse for a model folder or llama2.c file…', action: 'browse' });
  items.push({ label: '$(edit) Enter a hub id or path…', action: 'hub' });
  const current = ctx.config.model;
  for (const it of items) if (it.spec === current) it.detail = '$(check) current';
  const pick = await vscode.window.showQuickPick(items, { title: 'FFN Lens: Select Model', placeHolder: current });
  if (!pick) return;
  let spec = pick.spec;
  if (pick.action === 'browse') {
    const uris = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: true, canSelectMany: false, title: 'Model folder or llama2.c checkpoint' });
    spec = uris?.[0]?.fsPath;
  } else if (pick.action === 'hub') {
    spec = await vscode.window.showInputBox({ title: 'Model', prompt: 'A hub id, a model folder or a llama2.c file', value: current });
  }
  if (!spec) return;
  // Settings changes reload the model (Ctx listens); writing globally keeps workspaces untouched.
  await vscode.workspace.getConfiguration(SECTION).update('model', spec, vscode.ConfigurationTarget.Global);
  await ctx.ensureModel().catch(() => undefined);
};

const reloadModel: Factory = (ctx) => async () => {
  await ctx.ensureModel().catch((err: unknown) => {
    void vscode.window.showErrorMessage(`FFN Lens: ${err instanceof Error ? err.message : String(err)}`);
  });
};

const showValueVector: Factory = (ctx) => async () => {
  const input = await vscode.window.showInputBox({
    title: 'FFN Lens: Show Value Vector',
    prompt: 'layer:key, e.g. 5:1024',
    validateInput: (v) => (parseMemoryRef(v) ? undefined : 'Write layer:key with two non-negative integers'),
  });
  const ref = input ? parseMemoryRef(input) : undefined;
  if (!ref) return;
  try {
    const [value] = await ctx.call('decodeValues', { items: [ref], k: 20, finalNorm: ctx.config.decodeWithFinalNorm });
    const row = (p: { text: string; prob: number }): string => `| ${mdCell(p.text)} | ${(p.prob * 100).toFixed(2)}% |`;
    const md = [
      `# Value vector L${ref.layer}:${ref.key}`,
      '',
      '## Promoted tokens (top)',
      '| token | prob |', '|---|---|', ...value.top.map(row),
      '',
      '## Suppressed tokens (bottom)',
      '| token | prob |', '|---|---|', ...value.bottom.map(row),
    ].join('\n');
    const doc = await vscode.workspace.openTextDocument({ language: 'markdown', content: md });
    await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: ${err instanceof Error ? err.message : String(err)}`);
  }
};

/** Args (from the panel or a keybinding): { layer, key }; without them, asks for layer:key. */
const highlightKey: Factory = (ctx) => async (arg?: unknown) => {
  let ref = isMemoryRef(arg) ? arg : undefined;
  if (!ref) {
    const input = await vscode.window.showInputBox({
      title: 'FFN Lens: Highlight Key Activations',
      prompt: 'layer:key of the memory to show on the visible text, e.g. 5:1024',
      validateInput: (v) => (parseMemoryRef(v) ? undefined : 'Write layer:key with two non-negative integers'),
    });
    ref = input ? parseMemoryRef(input) : undefined;
  }
  const editor = ctx.textEditor;
  if (!ref || !editor) return;
  try {
    await ctx.highlighter.apply(editor, ref.layer, ref.key);
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: ${err instanceof Error ? err.message : String(err)}`);
  }
};

const clearHighlights: Factory = (ctx) => () => ctx.highlighter.clear();

const searchMemories: Factory = (ctx) => async () => {
  const word = await vscode.window.showInputBox({ title: 'FFN Lens: Search Memories by Token', prompt: 'A word or token, e.g. "king"' });
  if (!word?.trim()) return;
  const side = await vscode.window.showQuickPick(
    [
      { label: 'Promotes', description: 'memories whose value vector puts the token in its top tokens', side: 'promote' as const },
      { label: 'Suppresses', description: 'memories whose value vector puts the token in its bottom tokens', side: 'suppress' as const },
    ],
    { title: `Memories that … "${word}"` },
  );
  if (!side) return;
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'FFN Lens: searching memories' },
      (progress) => {
        let last = 0;
        const onProgress = (p: EngineProgress): void => {
          const f = p.fraction ?? 0;
          progress.report({ message: p.message, increment: Math.max(0, (f - last) * 100) });
          last = f;
        };
        return ctx.call('searchWord', { word, side: side.side, limit: 50, finalNorm: ctx.config.decodeWithFinalNorm }, { onProgress });
      },
    );
    const tokens = r.tokens.map((t) => JSON.stringify(t.text)).join(', ');
    const pick = await vscode.window.showQuickPick(
      r.hits.map((h) => ({
        label: `L${h.layer}:${h.key}`,
        description: `${(h.prob * 100).toPrecision(3)}% · rank ${h.rank}`,
        detail: `token ${JSON.stringify(r.tokens.find((t) => t.id === h.tokenId)?.text ?? h.tokenId)}`,
        hit: h,
      })),
      { title: `${r.hits.length} memories that ${side.side} ${tokens}`, placeHolder: 'Pick one to highlight where it fires in the editor' },
    );
    if (pick) await vscode.commands.executeCommand('ffnLens.highlightKey', { layer: pick.hit.layer, key: pick.hit.key });
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: ${err instanceof Error ? err.message : String(err)}`);
  }
};

const exportAnalysis: Factory = (ctx) => async () => {
  const view = ctx.lastAnalysis;
  if (!view) {
    void vscode.window.showWarningMessage('FFN Lens: run Inspect Selection first; its result is what gets exported.');
    return;
  }
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const uri = await vscode.window.showSaveDialog({
    title: 'FFN Lens: Export Analysis',
    defaultUri: folder ? vscode.Uri.joinPath(folder, 'ffn-lens-analysis.json') : undefined,
    filters: { JSON: ['json'], CSV: ['csv'] },
  });
  if (!uri) return;
  const format: ExportFormat = uri.path.toLowerCase().endsWith('.csv') ? 'csv' : 'json';
  await vscode.workspace.fs.writeFile(uri, Buffer.from(formatAnalysis(view, format), 'utf8'));
  ctx.log.info(`exported ${view.tokens.length} tokens × ${view.layers.length} layers as ${format} to ${uri.fsPath}`);
};

const showLog: Factory = (ctx) => () => ctx.log.show(true);

/** Args (keybindings, automation): { corpus?: string[], out?: string, resume?: boolean }; see BuildIndexArgs. */
const buildTriggerIndex: Factory = (ctx) => (arg?: unknown) => buildTriggerIndexCommand(ctx, arg);

const openPaperReportCmd: Factory = (ctx) => () => openPaperReport(ctx);

/** Arg: an absolute file path to save to without the dialog. */
const saveReportCmd: Factory = (ctx) => (arg?: unknown) => saveReport(ctx, arg);

/** Args: { a, b } to compare without asking. */
const compareSelections: Factory = (ctx) => (arg?: unknown) => compareTexts(ctx, arg);
/** Arg: an absolute path to save to without the dialog. */
const saveSession: Factory = (ctx) => (arg?: unknown) => saveSessionFile(ctx, arg);
/** Arg: the session file (Uri or absolute path); without it, the active .ffnlens.json or a dialog. */
const openSession: Factory = (ctx) => (arg?: unknown) => openSessionFile(ctx, arg);
/** Arg: an absolute path to save to without the dialog. */
const exportHtml: Factory = (ctx) => (arg?: unknown) => exportHtmlPage(ctx, arg);

export const commands: Record<string, Factory> = {
  inspectSelection,
  selectModel,
  reloadModel,
  showValueVector,
  highlightKey,
  clearHighlights,
  searchMemories,
  exportAnalysis,
  showLog,
  buildTriggerIndex,
  openPaperReport: openPaperReportCmd,
  saveReport: saveReportCmd,
  compareSelections,
  saveSession,
  openSession,
  exportHtml,
};

export function registerCommands(ctx: Ctx): void {
  for (const [name, factory] of Object.entries(commands)) {
    ctx.push(vscode.commands.registerCommand(`ffnLens.${name}`, factory(ctx)));
  }
}

export function parseMemoryRef(s: string): { layer: number; key: number } | undefined {
  const m = /^\s*L?(\d+)\s*[:.]\s*(\d+)\s*$/i.exec(s);
  return m ? { layer: Number(m[1]), key: Number(m[2]) } : undefined;
}

function isMemoryRef(u: unknown): u is { layer: number; key: number } {
  if (typeof u !== 'object' || u === null) return false;
  const r = u as Record<string, unknown>;
  return Number.isInteger(r.layer) && Number.isInteger(r.key) && (r.layer as number) >= 0 && (r.key as number) >= 0;
}

function mdCell(text: string): string {
  return '`' + JSON.stringify(text).slice(1, -1).replace(/`/g, 'ˋ').replace(/\|/g, '\\|') + '`';
}

/** Model folders next to the workspace or the extension (the project's shared test models). */
function localModelCandidates(): string[] {
  const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const found = new Set<string>();
  for (const root of roots) {
    for (const rel of ['../shared/models', '../../shared/models', 'models']) {
      const dir = path.resolve(root, rel);
      let entries: string[] = [];
      try {
        entries = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const e of entries) if (fs.existsSync(path.join(dir, e, 'config.json')) || /\.bin$/.test(e)) found.add(path.join(dir, e));
    }
  }
  return [...found];
}
