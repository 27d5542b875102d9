// Typed access to the "ffnLens.*" settings. Reading through one class keeps defaults in one place
// (package.json's contributes.configuration) and tells which changes need the model reloaded.

import * as path from 'node:path';
import * as vscode from 'vscode';

export const SECTION = 'ffnLens';

/** Changing one of these means the loaded model no longer matches the settings. */
const RELOAD_KEYS = ['model', 'threads'] as const;

export class Config {
  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /**
   * A hub id, a model directory or a llama2.c file. A relative path ("./m", "../shared/m") is taken
   * relative to the first workspace folder, so a workspace can ship its own setting.
   */
  get model(): string {
    const raw = this.cfg.get<string>('model', 'openai-community/gpt2').trim();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (folder && /^\.\.?[\\/]/.test(raw)) return path.resolve(folder, raw);
    return raw;
  }

  /** The trigger index folder, absolute (a relative one is taken from the first workspace folder); '' for none. */
  get triggerIndex(): string {
    const raw = this.cfg.get<string>('triggerIndex', '').trim();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (raw && folder && !path.isAbsolute(raw)) return path.resolve(folder, raw);
    return raw;
  }

  get topK(): number {
    return clampInt(this.cfg.get<number>('topK', 10), 1, 100);
  }

  get threshold(): number {
    const v = this.cfg.get<number>('threshold', 1);
    return Number.isFinite(v) ? v : 1;
  }

  get decodeWithFinalNorm(): boolean {
    return this.cfg.get<boolean>('decodeWithFinalNorm', false);
  }

  /** Tokens of context around the cursor that a hover analyses (capped by the model's context). */
  get windowSize(): number {
    return clampInt(this.cfg.get<number>('windowSize', 128), 8, 4096);
  }

  /** 0 means one fewer than the machine's cores (see Ctx). */
  get threads(): number {
    return clampInt(this.cfg.get<number>('threads', 0), 0, 256);
  }

  get hoverEnabled(): boolean {
    return this.cfg.get<boolean>('hover.enabled', true);
  }

  /** Language ids where hovers are on; '*' among them means every language. */
  get hoverLanguages(): string[] {
    const v = this.cfg.get<unknown>('hover.languages', ['plaintext', 'markdown']);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim()) : ['plaintext', 'markdown'];
  }

  static affectsHoverLanguages(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration(`${SECTION}.hover.languages`);
  }

  static affectsTriggerIndex(e: vscode.ConfigurationChangeEvent): boolean {
    return e.affectsConfiguration(`${SECTION}.triggerIndex`);
  }

  static needsReload(e: vscode.ConfigurationChangeEvent): boolean {
    return RELOAD_KEYS.some((k) => e.affectsConfiguration(`${SECTION}.${k}`));
  }
}

function clampInt(v: number | undefined, lo: number, hi: number): number {
  const n = Math.round(Number(v));
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : lo;
}
