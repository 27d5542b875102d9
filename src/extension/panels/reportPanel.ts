// The paper report in a webview panel. The core renders one self-contained HTML page (inline CSS
// and SVG, no script); the panel shows it under a strict CSP: no scripts at all, nothing loaded,
// and the report's single <style> element allowed by a per-render nonce instead of
// 'unsafe-inline'. "Save as HTML…" writes the page as the core rendered it.

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';

export const REPORT_VIEW_TYPE = 'ffnLens.report';

/**
 * The report with a CSP meta tag and a nonce on its one <style>. Fails rather than guess when the
 * page does not have exactly one <head> and one <style> (a changed renderer must be looked at).
 */
export function withCsp(html: string, nonce: string): string {
  const once = (tag: string): boolean => html.indexOf(tag) >= 0 && html.indexOf(tag) === html.lastIndexOf(tag);
  if (!once('<head>') || !once('<style>')) throw new Error('the report page does not have the expected single <head> and <style>');
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'`;
  return html
    .replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`)
    .replace('<style>', `<style nonce="${nonce}">`);
}

export class ReportPanel {
  private static current: ReportPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /** Shows the report, reusing the open panel. */
  static show(ctx: Ctx, html: string, title: string): ReportPanel {
    let p = ReportPanel.current;
    if (p) {
      p.panel.reveal(vscode.ViewColumn.Active);
    } else {
      const panel = vscode.window.createWebviewPanel(REPORT_VIEW_TYPE, title, vscode.ViewColumn.Active, {
        // The report is static: no scripts, and it loads no files.
        enableScripts: false,
        localResourceRoots: [],
      });
      p = ReportPanel.current = new ReportPanel(panel, ctx);
    }
    p.setHtml(html, title);
    return p;
  }

  /** The report of the panel that is open, as rendered (for saving). */
  static get html(): { html: string; title: string } | undefined {
    const p = ReportPanel.current;
    return p ? { html: p.raw, title: p.panel.title } : undefined;
  }

  private raw = '';

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    ctx: Ctx,
  ) {
    panel.iconPath = vscode.Uri.joinPath(ctx.extension.extensionUri, 'media', 'icon.svg');
    this.disposables.push(panel.onDidDispose(() => this.dispose()));
  }

  private setHtml(html: string, title: string): void {
    this.raw = html;
    this.panel.title = title;
    this.panel.webview.html = withCsp(html, randomBytes(16).toString('base64'));
  }

  dispose(): void {
    if (ReportPanel.current === this) ReportPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
