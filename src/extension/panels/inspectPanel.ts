// The "FFN Lens" webview panel: one per window, created or revealed by Inspect Selection and
// revived after a reload through a WebviewPanelSerializer. The webview keeps its own state
// (getState/setState), so the host keeps none per panel: every request carries what it needs.

import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import {
  parseWebviewMessage,
  type HostMessage,
  type InspectView,
  type PanelPlace,
  type RequestMap,
  type RequestMessage,
  type RequestMethod,
} from '../../protocol';

export const VIEW_TYPE = 'ffnLens.inspect';

type RequestHandler<M extends RequestMethod> = (ctx: Ctx, params: RequestMap[M]['params']) => Promise<RequestMap[M]['result']>;

/** Host implementations of the webview's requests; the mapped type keeps them in step with protocol.ts. */
const requestHandlers: { [M in RequestMethod]: RequestHandler<M> } = {
  async memoryDetails(ctx, p) {
    const [value] = await ctx.call('decodeValues', { items: [{ layer: p.layer, key: p.key }], k: p.k, finalNorm: ctx.config.decodeWithFinalNorm });
    return { layer: p.layer, key: p.key, value };
  },
  // Params are rebuilt from the validated fields: the webview's object may carry anything else.
  intervene: (ctx, p) => ctx.call('intervene', { ids: p.ids, position: p.position, interventions: p.interventions, k: p.k }),
  layerPredictions: (ctx, p) => ctx.call('layerPredictions', { ids: p.ids, position: p.position, k: p.k, interventions: p.interventions }),
  memoryTriggers: (ctx, p) => ctx.triggers.memoryTriggers(p.layer, p.key),
  addLabel: (ctx, p) => ctx.triggers.editLabel(p.layer, p.key, { op: 'add', text: p.text.trim(), kind: p.kind }),
  removeLabel: (ctx, p) => ctx.triggers.editLabel(p.layer, p.key, { op: 'remove', text: p.text }),
  async highlightKey(ctx, p) {
    const editor = ctx.textEditor;
    if (!editor) throw new Error('No text editor is open to highlight.');
    return { tokens: await ctx.highlighter.apply(editor, p.layer, p.key) };
  },
  attribute: (ctx, p) => ctx.call('attribute', { ids: p.ids, position: p.position, target: p.target, contrast: p.contrast, k: p.k }),
};

export class InspectPanel {
  private static current: InspectPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private startedAt: number | undefined;
  private postedAt = 0;
  /** The selected cell, memory and interventions, as the webview last reported them (for Save Session). */
  private place: PanelPlace = { interventions: [] };
  /** Messages posted before the webview said it is ready (a fresh webview drops them otherwise). */
  private readonly queue: HostMessage[] = [];

  static createOrShow(ctx: Ctx, view?: InspectView): InspectPanel {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
    if (InspectPanel.current) {
      InspectPanel.current.panel.reveal(column, true);
    } else {
      const panel = vscode.window.createWebviewPanel(VIEW_TYPE, 'FFN Lens', { viewColumn: column, preserveFocus: true }, webviewOptions(ctx));
      InspectPanel.current = new InspectPanel(panel, ctx);
    }
    const p = InspectPanel.current;
    if (view) p.show(view);
    return p;
  }

  /** Called by the serializer when VS Code restores the panel after a reload. */
  static revive(panel: vscode.WebviewPanel, ctx: Ctx): void {
    panel.webview.options = webviewOptions(ctx);
    InspectPanel.current?.dispose();
    InspectPanel.current = new InspectPanel(panel, ctx);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly ctx: Ctx,
  ) {
    panel.iconPath = vscode.Uri.joinPath(ctx.extension.extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      ctx.onDidChangeState((s) => this.post({ type: 'status', state: s.state, message: s.message })),
      ctx.triggers.onDidChange((state) => this.post({ type: 'triggerIndex', state })),
    );
  }

  /**
   * startedAt: Date.now() when the user asked for this view, to log the full latency once painted;
   * restore: the place to open at (a reopened session).
   */
  show(view: InspectView, startedAt?: number, restore?: PanelPlace): void {
    this.panel.title = `FFN Lens: ${view.source.label}`;
    this.startedAt = startedAt;
    this.postedAt = Date.now();
    this.place = restore ?? { interventions: [] };
    this.post({ type: 'inspect', view, ...(restore ? { restore } : {}) });
  }

  /** The open panel's selected cell, memory and interventions; undefined when no panel is open. */
  static get place(): PanelPlace | undefined {
    return InspectPanel.current?.place;
  }

  /** Whether the inspect panel is the active editor tab. */
  static get active(): boolean {
    return InspectPanel.current?.panel.active ?? false;
  }

  dispose(): void {
    if (InspectPanel.current === this) InspectPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }

  private post(m: HostMessage): void {
    if (this.ready) void this.panel.webview.postMessage(m);
    else this.queue.push(m);
  }

  private onMessage(raw: unknown): void {
    const msg = parseWebviewMessage(raw);
    if (!msg) {
      this.ctx.log.warn(`rejected a malformed webview message: ${JSON.stringify(raw)?.slice(0, 200)}`);
      // A rejected request is still answered, so the webview's promise does not wait forever.
      const id = (raw as { requestId?: unknown } | null)?.requestId;
      if (typeof id === 'number' && Number.isSafeInteger(id)) {
        this.post({ type: 'response', requestId: id, ok: false, error: 'The request was rejected: it does not match the panel protocol.' });
      }
      return;
    }
    if (msg.type === 'ready') {
      this.ready = true;
      this.post({ type: 'status', ...this.ctx.state });
      for (const m of this.queue.splice(0)) this.post(m);
      return;
    }
    if (msg.type === 'place') {
      this.place = { selected: msg.selected, memory: msg.memory, interventions: msg.interventions };
      return;
    }
    if (msg.type === 'rendered') {
      const received = msg.paintedAt - msg.ms;
      const total =
        this.startedAt === undefined
          ? ''
          : `; selection → heatmap ${msg.paintedAt - this.startedAt} ms ` +
            `(host ${this.postedAt - this.startedAt} ms, to webview ${Math.max(0, Math.round(received - this.postedAt))} ms)`;
      this.startedAt = undefined;
      this.ctx.log.info(`panel rendered ${msg.tokens} tokens in ${msg.ms.toFixed(1)} ms${total}`);
      return;
    }
    void this.answer(msg);
  }

  private async answer(msg: RequestMessage): Promise<void> {
    try {
      // The validator checked params against msg.method; the handler table is indexed by the
      // same method, a correlation TypeScript cannot follow through the union.
      const handler = requestHandlers[msg.method] as RequestHandler<RequestMethod>;
      const result = await handler(this.ctx, msg.params);
      this.post({ type: 'response', requestId: msg.requestId, ok: true, result });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.ctx.log.error(`${msg.method} failed: ${error}`);
      this.post({ type: 'response', requestId: msg.requestId, ok: false, error });
    }
  }

  private html(): string {
    const webview = this.panel.webview;
    const root = this.ctx.extension.extensionUri;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'dist', 'webview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(root, 'media', 'panel.css'));
    // A fresh nonce per render: only our bundle may run, never markup that a token text smuggles in.
    const nonce = randomBytes(16).toString('base64');
    const csp = [
      "default-src 'none'",
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${style.toString()}">
  <title>FFN Lens</title>
</head>
<body>
  <main id="app" aria-live="polite"></main>
  <script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

function webviewOptions(ctx: Ctx): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  const root = ctx.extension.extensionUri;
  return {
    enableScripts: true,
    // Only our own bundle and stylesheet can be loaded into the webview.
    localResourceRoots: [vscode.Uri.joinPath(root, 'dist'), vscode.Uri.joinPath(root, 'media')],
  };
}

export function registerInspectPanelSerializer(ctx: Ctx): vscode.Disposable {
  return vscode.window.registerWebviewPanelSerializer(VIEW_TYPE, {
    deserializeWebviewPanel: async (panel) => InspectPanel.revive(panel, ctx),
  });
}
