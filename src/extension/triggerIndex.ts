// The trigger index and labels as the host sees them: which index the settings name, whether it
// opens for the loaded model, a memory's triggers, patterns and human labels for the panel, and
// the labels file in the workspace. The worker does the reading; this class only decides what to
// ask for and turns failures into messages the panel shows in place.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { Config, SECTION } from './config';
import type { LabelKind, LabelView, MemoryTriggersView, TriggerIndexState } from '../protocol';

/** Where human labels live, relative to the first workspace folder. */
export const LABELS_FILE = path.join('.vscode', 'ffn-lens-labels.json');

type LabelEdit = { op: 'add'; text: string; kind: LabelKind } | { op: 'remove'; text: string };

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class TriggerIndexService implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TriggerIndexState>();
  /** Fires when the configured index or the model changed: open panels ask for triggers again. */
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (Config.affectsTriggerIndex(e)) void this.refresh();
      }),
      // Another model may not match the index: tell the panel once the new one is ready.
      ctx.onDidChangeState((s) => {
        if (s.state === 'ready' && this.ctx.config.triggerIndex) void this.refresh();
      }),
    );
  }

  /** The labels file, or undefined without a workspace folder to keep it in. */
  get labelsFile(): string | undefined {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    return folder ? path.join(folder, LABELS_FILE) : undefined;
  }

  /** Whether the configured index opens for the loaded model (loads the model first). */
  async state(): Promise<TriggerIndexState> {
    const dir = this.ctx.config.triggerIndex;
    if (!dir) return { state: 'none' };
    try {
      return { state: 'loaded', summary: await this.ctx.call('openTriggerIndex', { dir }) };
    } catch (err) {
      return { state: 'error', dir, message: message(err) };
    }
  }

  /**
   * Makes dir the workspace's trigger index (user settings when no folder is open). A changed
   * setting tells listeners through the configuration event; the same path saved again (a
   * rebuild) fires none, so then this refreshes them itself.
   */
  async use(dir: string): Promise<TriggerIndexState> {
    const unchanged = this.ctx.config.triggerIndex === dir;
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration(SECTION).update('triggerIndex', dir, target);
    return unchanged ? this.refresh() : this.state();
  }

  async refresh(): Promise<TriggerIndexState> {
    const state = await this.state();
    if (state.state === 'error') this.ctx.log.warn(`trigger index: ${state.message}`);
    else if (state.state === 'loaded') this.ctx.log.info(`trigger index ${state.summary.dir}: ${state.summary.paragraphs} paragraphs, ${state.summary.tokens} tokens`);
    this.emitter.fire(state);
    return state;
  }

  /** Everything the panel shows under a memory beside its value: triggers, patterns, labels. */
  async memoryTriggers(layer: number, key: number): Promise<MemoryTriggersView> {
    const info = this.ctx.modelInfo ?? (await this.ctx.ensureModel());
    if (layer >= info.nLayers || key >= info.dFf) throw new Error(`L${layer}:${key} is outside ${info.name} (${info.nLayers} layers × ${info.dFf} memories)`);
    const [fromIndex, fromLabels] = await Promise.all([this.fromIndex(layer, key), this.fromLabels(layer, key)]);
    return { layer, key, ...fromIndex, ...fromLabels };
  }

  /** Adds or removes a label and returns the key's labels; errors (no folder, a broken file) are thrown. */
  async editLabel(layer: number, key: number, edit: LabelEdit): Promise<LabelView[]> {
    const file = this.labelsFile;
    if (!file) throw new Error(`Open a folder to keep labels: they are saved in its ${LABELS_FILE}.`);
    const labels = await this.ctx.call('labels', { file, layer, key, edit });
    this.ctx.log.info(`${edit.op === 'add' ? 'added' : 'removed'} label ${JSON.stringify(edit.text)} on L${layer}:${key} in ${file}`);
    return labels;
  }

  private async fromIndex(layer: number, key: number): Promise<Pick<MemoryTriggersView, 'index' | 'triggers' | 'negative' | 'patterns'>> {
    const dir = this.ctx.config.triggerIndex;
    if (!dir) return { index: { state: 'none' }, triggers: [], negative: null, patterns: null };
    try {
      const r = await this.ctx.call('memoryTriggers', { dir, layer, key });
      return { index: { state: 'loaded', summary: r.summary }, triggers: r.triggers, negative: r.negative, patterns: r.patterns };
    } catch (err) {
      return { index: { state: 'error', dir, message: message(err) }, triggers: [], negative: null, patterns: null };
    }
  }

  private async fromLabels(layer: number, key: number): Promise<Pick<MemoryTriggersView, 'labels' | 'labelsError'>> {
    const file = this.labelsFile;
    if (!file) return { labels: [], labelsError: `Open a folder to keep labels (saved in its ${LABELS_FILE}).` };
    try {
      return { labels: await this.ctx.call('labels', { file, layer, key }) };
    } catch (err) {
      return { labels: [], labelsError: message(err) };
    }
  }

  dispose(): void {
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}
