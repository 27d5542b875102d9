// "FFN Lens: Open Paper Report": the statistics of Geva et al. (2021) on the workspace's trigger
// index and the corpus it was built from, computed in the engine worker behind a cancellable
// progress notification, shown in the report panel; "Save Report as HTML…" writes it out.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { EngineError } from './engine';
import { ReportPanel } from './panels/reportPanel';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function openPaperReport(ctx: Ctx): Promise<void> {
  let state;
  try {
    state = await ctx.triggers.state();
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: the report needs the model, which did not load: ${message(err)}`);
    return;
  }
  if (state.state === 'none') {
    const build = 'Build Trigger Index…';
    void vscode.window.showWarningMessage('FFN Lens: the paper report needs a trigger index (the setting ffnLens.triggerIndex is empty).', build).then((pick) => {
      if (pick === build) void vscode.commands.executeCommand('ffnLens.buildTriggerIndex');
    });
    return;
  }
  if (state.state === 'error') {
    void vscode.window.showErrorMessage(`FFN Lens: ${state.message}`);
    return;
  }
  const { dir } = state.summary;
  const controller = new AbortController();
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'FFN Lens: computing the paper statistics', cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        return ctx.call(
          'paperReport',
          { dir },
          {
            signal: controller.signal,
            onProgress: (p) => progress.report({ message: p.fraction === undefined ? p.stage : `${p.stage} ${Math.round(p.fraction * 100)}%` }),
          },
        );
      },
    );
    ctx.log.info(`paper report for ${r.model} on ${dir}: ${r.positions} positions in ${r.seconds.toFixed(1)} s`);
    ReportPanel.show(ctx, r.html, `FFN Lens report: ${r.model}`);
  } catch (err) {
    if (err instanceof EngineError && err.aborted) {
      void vscode.window.showInformationMessage('FFN Lens: the paper statistics were cancelled.');
      return;
    }
    ctx.log.error(`paper report failed: ${message(err)}`);
    void vscode.window.showErrorMessage(`FFN Lens: the paper report failed: ${message(err)}`);
  }
}

/** Arg (keybindings, automation): a file path to save to without asking. */
export async function saveReport(ctx: Ctx, arg?: unknown): Promise<void> {
  const report = ReportPanel.html;
  if (!report) {
    void vscode.window.showWarningMessage('FFN Lens: open the paper report first ("FFN Lens: Open Paper Report").');
    return;
  }
  let uri: vscode.Uri | undefined;
  if (typeof arg === 'string' && path.isAbsolute(arg)) uri = vscode.Uri.file(arg);
  else {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = `${report.title.replace(/^FFN Lens report: /, 'ffn-lens-report-').replace(/[^\w.+-]+/g, '_')}.html`;
    uri = await vscode.window.showSaveDialog({
      title: 'FFN Lens: Save Report as HTML',
      defaultUri: folder ? vscode.Uri.joinPath(folder, name) : undefined,
      filters: { HTML: ['html', 'htm'] },
    });
  }
  if (!uri) return;
  await vscode.workspace.fs.writeFile(uri, Buffer.from(report.html, 'utf8'));
  ctx.log.info(`saved the paper report to ${uri.fsPath}`);
  void vscode.window.showInformationMessage(`FFN Lens: saved the report to ${uri.fsPath}.`);
}
