// The paper report and Compare in webview panels. The core renders each as one self-contained
// HTML page (inline CSS and SVG, no script); the panel shows it under a strict CSP: no scripts at
// all, nothing loaded, and the page's single <style> element allowed by a per-render nonce
// instead of 'unsafe-inline'. "Save as HTML…" writes the page as the core rendered it. Without
// scripts a webview keeps no state of its own, so the last page is kept in workspace state and
// the serializer shows it again after a window reload.

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

/** Script-less pages shown in their own panel, one per view type: the paper report and Compare. */
export const COMPARE_VIEW_TYPE = 'ffnLens.compare';
const PAGE_VIEW_TYPES = [REPORT_VIEW_TYPE, COMPARE_VIEW_TYPE] as const;
type PageViewType = (typeof PAGE_VIEW_TYPES)[number];

interface Page {
  html: string;
  title: string;
}

/** The workspace-state key of a view type's last page: a reload restores the panel from it. */
const memento = (viewType: PageViewType): string => `ffnLens.page.${viewType}`;

export class PagePanel {
  private static readonly open = new Map<PageViewType, PagePanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private page: Page = { html: '', title: '' };

  /** Shows the page in the view type's panel, reusing the open one. */
  static show(ctx: Ctx, viewType: PageViewType, html: string, title: string): PagePanel {
    let p = PagePanel.open.get(viewType);
    if (p) {
      p.panel.reveal(vscode.ViewColumn.Active);
    } else {
      const panel = vscode.window.createWebviewPanel(viewType, title, vscode.ViewColumn.Active, PAGE_OPTIONS);
      p = new PagePanel(panel, ctx, viewType);
    }
    p.set({ html, title });
    return p;
  }

  /** The page of the view type's open panel, as rendered (for saving). */
  static page(viewType: PageViewType): Page | undefined {
    return PagePanel.open.get(viewType)?.page;
  }

  /** The page of the panel that is the active tab, if one is. */
  static get activePage(): Page | undefined {
    return [...PagePanel.open.values()].find((p) => p.panel.active)?.page;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly ctx: Ctx,
    private readonly viewType: PageViewType,
  ) {
    PagePanel.open.get(viewType)?.dispose();
    PagePanel.open.set(viewType, this);
    panel.iconPath = vscode.Uri.joinPath(ctx.extension.extensionUri, 'media', 'icon.svg');
    this.disposables.push(panel.onDidDispose(() => this.dispose()));
  }

  private set(page: Page): void {
    this.page = page;
    this.panel.title = page.title;
    this.panel.webview.html = withCsp(page.html, randomBytes(16).toString('base64'));
    void this.ctx.extension.workspaceState.update(memento(this.viewType), page);
  }

  // The kept page stays when the panel closes: VS Code asks the serializer only for panels that
  // were open when the window went away, and the next page overwrites it.
  dispose(): void {
    if (PagePanel.open.get(this.viewType) === this) PagePanel.open.delete(this.viewType);
    while (this.disposables.length) this.disposables.pop()?.dispose();
    this.panel.dispose();
  }

  /** Restores the view types' panels after a window reload, from the pages kept in workspace state. */
  static registerSerializers(ctx: Ctx): vscode.Disposable[] {
    return PAGE_VIEW_TYPES.map((viewType) =>
      vscode.window.registerWebviewPanelSerializer(viewType, {
        deserializeWebviewPanel: async (panel) => {
          const page = ctx.extension.workspaceState.get<Page>(memento(viewType));
          if (!page || typeof page.html !== 'string' || typeof page.title !== 'string') {
            panel.dispose();
            return;
          }
          panel.webview.options = PAGE_OPTIONS;
          new PagePanel(panel, ctx, viewType).set(page);
        },
      }),
    );
  }
}

/** The pages are static: no scripts, and they load no files. */
const PAGE_OPTIONS: vscode.WebviewOptions = { enableScripts: false, localResourceRoots: [] };

/** The paper report's panel (paperReport.ts). */
export const ReportPanel = {
  show: (ctx: Ctx, html: string, title: string): PagePanel => PagePanel.show(ctx, REPORT_VIEW_TYPE, html, title),
  get html(): Page | undefined {
    return PagePanel.page(REPORT_VIEW_TYPE);
  },
};
