// Extension entry: wires the parts together and nothing else. Ctx owns every disposable, so
// deactivation is a single dispose (which also stops the engine worker and frees the model).

import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { registerHover } from './hover';
import { registerInspectPanelSerializer } from './panels/inspectPanel';
import { PagePanel } from './panels/reportPanel';

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  registerCommands(ctx);
  ctx.push(registerInspectPanelSerializer(ctx));
  // the report and Compare panels come back after a window reload too
  ctx.push(...PagePanel.registerSerializers(ctx));
  // only in the languages of ffnLens.hover.languages (default plaintext, markdown): elsewhere a
  // language server's hover comes first unless the user asks for FFN Lens's
  ctx.push(registerHover(ctx));
  ctx.log.info(`activated (VS Code ${vscode.version}, node ${process.version})`);
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
