// The status-bar item: which model, and whether it is loading, ready or failed. Clicking it picks
// another model.

import * as vscode from 'vscode';
import type { EngineState } from '../protocol';

const ICONS: Record<EngineState, string> = {
  idle: '$(circle-outline)',
  loading: '$(loading~spin)',
  ready: '$(check)',
  busy: '$(loading~spin)',
  error: '$(error)',
};

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor() {
    this.item = vscode.window.createStatusBarItem('ffnLens.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'FFN Lens';
    this.item.command = 'ffnLens.selectModel';
    this.item.show();
  }

  set(state: EngineState, model: string, detail?: string): void {
    const short = shortName(model);
    // while loading, the phase and MB read are the news: shown in the item itself, not only its tooltip
    this.item.text = `${ICONS[state]} FFN Lens: ${short}${state === 'loading' && detail ? ` — ${detail}` : ''}`;
    this.item.tooltip = `FFN Lens — ${model}\n${detail ?? state}\nClick to select a model.`;
    this.item.backgroundColor =
      state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}

/** The last path or hub segment: "openai-community/gpt2" → "gpt2". */
export function shortName(spec: string): string {
  const parts = spec.split(/[\\/]/).filter(Boolean);
  return parts[parts.length - 1] ?? spec;
}
