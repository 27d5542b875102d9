// Extension entry: wires the parts together and nothing else. Ctx owns every disposable, so
// deactivation is a single dispose (which also stops the engine worker and frees the model).

import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { Ctx } from './ctx';
import { FfnHoverProvider } from './hover';
import { registerInspectPanelSerializer } from './panels/inspectPanel';

/** Hovers only make sense on prose; code files would tokenize into noise. */
const HOVER_SELECTOR: vscode.DocumentSelector = [
  { language: 'plaintext' },
  { language: 'markdown' },
];

let ctx: Ctx | undefined;

export function activate(context: vscode.ExtensionContext): void {
  ctx = new Ctx(context);
  context.subscriptions.push(ctx);
  registerCommands(ctx);
  ctx.push(registerInspectPanelSerializer(ctx));
  ctx.push(vscode.languages.registerHoverProvider(HOVER_SELECTOR, new FfnHoverProvider(ctx)));
  ctx.log.info(`activated (VS Code ${vscode.version}, node ${process.version})`);
}

export function deactivate(): void {
  ctx?.dispose();
  ctx = undefined;
}
