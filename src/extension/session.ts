// Sessions and export. "Save Session…" writes the inspect panel's finding as a `.ffnlens.json`
// (sessionFile.ts); "Open Session…" (also offered on such a file's editor title and in the
// explorer) restores it: the model it names (after asking, if it is not the current one), the text
// analysed with its settings, the selected cell and memory and the interventions, with a warning when the
// loaded model's hash differs from the recorded one. "Export as HTML…" writes the active view as a
// self-contained page without scripts: the Compare or report page as shown, or the inspection
// rendered by the engine.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { SECTION } from './config';
import type { Ctx } from './ctx';
import { inspectIntoPanel, label } from './inspectText';
import { InspectPanel } from './panels/inspectPanel';
import { PagePanel } from './panels/reportPanel';
import { MAX_SESSION_BYTES, parseSession, serializeSession, SESSION_FORMAT, SESSION_VERSION, type Session } from './sessionFile';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A file name from a label: letters, digits and dashes. */
const slug = (s: string): string => s.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '').slice(0, 40) || 'ffn-lens';

async function target(arg: unknown, title: string, name: string, filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
  if (typeof arg === 'string' && path.isAbsolute(arg)) return vscode.Uri.file(arg);
  if (arg instanceof vscode.Uri) return arg;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return vscode.window.showSaveDialog({ title, defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined, filters });
}

/** Arg (automation, tests): an absolute path to write without the dialog. */
export async function saveSession(ctx: Ctx, arg?: unknown): Promise<void> {
  const view = ctx.lastAnalysis;
  const place = InspectPanel.place;
  if (!view || !place) {
    void vscode.window.showWarningMessage('FFN Lens: inspect a selection first; a session saves the inspect panel.');
    return;
  }
  const info = ctx.modelInfo;
  if (!info || info.hash !== view.model.hash) {
    void vscode.window.showWarningMessage('FFN Lens: the panel was analysed with a model that is no longer loaded; inspect again before saving.');
    return;
  }
  const uri = await target(arg, 'FFN Lens: Save Session', `${slug(view.source.label)}.ffnlens.json`, { 'FFN Lens session': ['json'] });
  if (!uri) return;
  const session: Session = {
    format: SESSION_FORMAT,
    version: SESSION_VERSION,
    model: { spec: ctx.config.model, name: info.name, hash: info.hash ?? '' },
    text: view.source.text,
    topK: Math.max(1, ...view.layers.flatMap((l) => l.positions.map((p) => p.keys.length))),
    threshold: view.threshold,
    place,
    triggerIndex: ctx.config.triggerIndex || null,
    savedAt: new Date().toISOString(),
  };
  await vscode.workspace.fs.writeFile(uri, Buffer.from(serializeSession(session), 'utf8'));
  ctx.log.info(`saved the session to ${uri.fsPath}`);
  void vscode.window.showInformationMessage(`FFN Lens: saved the session to ${uri.fsPath}.`);
}

/** Arg: the session file (a Uri from a menu, or an absolute path); without it, asks for one. */
export async function openSession(ctx: Ctx, arg?: unknown): Promise<void> {
  let uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' && path.isAbsolute(arg) ? vscode.Uri.file(arg) : undefined;
  if (!uri) {
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.path.endsWith('.ffnlens.json')) uri = active;
  }
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({ title: 'FFN Lens: Open Session', canSelectMany: false, filters: { 'FFN Lens session': ['json'] } });
    uri = picked?.[0];
  }
  if (!uri) return;
  let session: Session;
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.size > MAX_SESSION_BYTES) throw new Error(`the file is ${(stat.size / 1024 / 1024).toFixed(1)} MB; a session is far smaller`);
    session = parseSession(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8'));
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: cannot open ${path.basename(uri.fsPath)} as a session: ${message(err)}`);
    return;
  }
  ctx.log.info(`opening session ${uri.fsPath} (${session.model.name}, saved ${session.savedAt || 'at an unknown time'})`);

  if (session.model.spec !== ctx.config.model) {
    // The file names a model to load: the user decides (a session may come from anyone).
    const use = `Load ${session.model.name}`;
    const keep = 'Keep the current model';
    const pick = await vscode.window.showWarningMessage(
      `FFN Lens: this session was saved with ${session.model.spec}; the current model is ${ctx.config.model}.`,
      { modal: true },
      use,
      keep,
    );
    if (!pick) return;
    if (pick === use) await vscode.workspace.getConfiguration(SECTION).update('model', session.model.spec, vscode.ConfigurationTarget.Global);
  }
  let info;
  try {
    info = await ctx.ensureModel();
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: the session's model did not load: ${message(err)}`);
    return;
  }
  if (info.hash !== session.model.hash) {
    void vscode.window.showWarningMessage(
      `FFN Lens: the loaded model (${info.name}, hash ${short(info.hash)}) is not the one this session was saved with (${session.model.name}, hash ${short(session.model.hash)}): the numbers may differ.`,
    );
  }
  if (session.triggerIndex && session.triggerIndex !== ctx.config.triggerIndex) {
    const useIndex = 'Use It';
    void vscode.window.showInformationMessage(`FFN Lens: the session used the trigger index ${session.triggerIndex}.`, useIndex).then(async (pick) => {
      if (pick !== useIndex) return;
      const state = await ctx.triggers.use(session.triggerIndex!);
      if (state.state === 'error') void vscode.window.showErrorMessage(`FFN Lens: ${state.message}`);
    });
  }
  await inspectIntoPanel(ctx, session.text, { topK: session.topK, threshold: session.threshold, restore: session.place });
}

const short = (hash: string | undefined): string => (hash ? hash.slice(0, 12) : 'unknown');

/** Arg (automation, tests): an absolute path to write without the dialog. */
export async function exportHtml(ctx: Ctx, arg?: unknown): Promise<void> {
  // the active page panel, else the inspect panel (the report and Compare keep their page as shown)
  const page = PagePanel.activePage;
  let html: string;
  let title: string;
  if (page) {
    ({ html, title } = page);
  } else {
    const view = ctx.lastAnalysis;
    const place = InspectPanel.place;
    if (!view || !place) {
      void vscode.window.showWarningMessage('FFN Lens: nothing to export; inspect a selection, compare two texts or open the report first.');
      return;
    }
    try {
      title = `FFN Lens ${label(view.source.label)}`;
      ({ html } = await ctx.call('inspectPage', {
        text: view.source.text,
        topK: Math.max(1, ...view.layers.flatMap((l) => l.positions.map((p) => p.keys.length))),
        threshold: view.threshold,
        place,
        finalNorm: ctx.config.decodeWithFinalNorm,
        label: view.source.label,
      }));
    } catch (err) {
      void vscode.window.showErrorMessage(`FFN Lens: export failed: ${message(err)}`);
      return;
    }
  }
  const uri = await target(arg, 'FFN Lens: Export as HTML', `${slug(title)}.html`, { HTML: ['html', 'htm'] });
  if (!uri) return;
  await vscode.workspace.fs.writeFile(uri, Buffer.from(html, 'utf8'));
  ctx.log.info(`exported ${title} to ${uri.fsPath}`);
  void vscode.window.showInformationMessage(`FFN Lens: exported to ${uri.fsPath}.`);
}
