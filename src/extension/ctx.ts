// The extension's context object: it owns the disposables, the log, the settings, the status bar
// and the engine worker, and knows which model is loaded. Commands, hovers and panels get it
// passed in rather than reaching for globals.

import * as os from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import { Config } from './config';
import { EngineClient, EngineError, type RequestOptions } from './engine';
import type { EngineMethod, EngineMethods } from './engineProtocol';
import type { EngineState, InspectView, ModelView } from '../protocol';
import { KeyHighlighter } from './highlight';
import { StatusBar } from './statusBar';
import { TriggerIndexService } from './triggerIndex';

export class Ctx implements vscode.Disposable {
  readonly config = new Config();
  readonly log: vscode.LogOutputChannel;
  private readonly statusBar: StatusBar;
  private readonly engine: EngineClient;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<{ state: EngineState; message: string }>();
  /** Fires on every engine state change (the panel mirrors it). */
  readonly onDidChangeState = this.stateEmitter.event;

  readonly highlighter: KeyHighlighter;
  /** The configured trigger index and the workspace's labels file. */
  readonly triggers: TriggerIndexService;
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;

  /** The latest Inspect Selection result, for Export Analysis. */
  lastAnalysis: InspectView | undefined;

  private loaded: { spec: string; info: ModelView } | undefined;
  private loading: { spec: string; promise: Promise<ModelView> } | undefined;
  private _state: { state: EngineState; message: string } = { state: 'idle', message: 'No model loaded yet.' };
  private backgroundLoadStarted = false;

  constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('FFN Lens', { log: true });
    this.statusBar = new StatusBar();
    this.engine = new EngineClient(
      path.join(extension.extensionPath, 'dist', 'engineWorker.js'),
      (l) => this.log.error(l),
      () => {
        // The next call starts a fresh worker and loads the model again.
        this.loaded = undefined;
        this.setState('error', 'The engine stopped; it restarts on the next request.');
      },
    );
    this.highlighter = new KeyHighlighter(this);
    this.triggers = new TriggerIndexService(this);
    this.push(this.log, this.statusBar, this.engine, this.stateEmitter, this.highlighter, this.triggers);
    // When the panel has focus there is no active text editor; commands started there act on
    // the editor the user came from.
    this.push(vscode.window.onDidChangeActiveTextEditor((e) => e && (this.lastEditor = e)));
    this.setState('idle', 'No model loaded yet.');
    this.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!Config.needsReload(e)) return;
        const wasLoaded = this.loaded !== undefined;
        this.loaded = undefined;
        this.setState('idle', 'Settings changed; the model will be reloaded.');
        if (wasLoaded) this.ensureModel().catch(() => undefined);
      }),
    );
  }

  get state(): { state: EngineState; message: string } {
    return this._state;
  }

  /** The active text editor, or the last one when a panel has focus. */
  get textEditor(): vscode.TextEditor | undefined {
    const e = vscode.window.activeTextEditor ?? this.lastEditor;
    return e && vscode.window.visibleTextEditors.includes(e) ? e : vscode.window.visibleTextEditors[0];
  }

  get modelInfo(): ModelView | undefined {
    return this.loaded?.info;
  }

  push(...d: vscode.Disposable[]): void {
    this.disposables.push(...d);
  }

  /** Loads the configured model once; concurrent callers share one load. */
  ensureModel(): Promise<ModelView> {
    const spec = this.config.model;
    if (this.loaded?.spec === spec) return Promise.resolve(this.loaded.info);
    if (this.loading?.spec === spec) return this.loading.promise;
    return this.startLoad(spec, true);
  }

  private startLoad(spec: string, memoryCheck: boolean): Promise<ModelView> {
    const promise = this.load(spec, memoryCheck);
    this.loading = { spec, promise };
    const clear = (): void => {
      if (this.loading?.promise === promise) this.loading = undefined;
    };
    promise.then(clear, clear);
    return promise;
  }

  /**
   * Starts loading the model without waiting for it, once per session: the first hover does this
   * so later ones can answer. A failed load is not retried this way (the status bar shows why).
   */
  loadInBackgroundOnce(): void {
    if (this.backgroundLoadStarted || this.loaded || this.loading) return;
    this.backgroundLoadStarted = true;
    this.log.info('a hover found no model loaded: loading it in the background');
    this.ensureModel().catch(() => undefined);
  }

  /** A typed engine call that needs the model: loads it first. */
  async call<M extends EngineMethod>(method: M, params: EngineMethods[M]['params'], opts?: RequestOptions): Promise<EngineMethods[M]['result']> {
    return (await this.callTimed(method, params, opts)).result;
  }

  /**
   * The same, with its cost: wall time and the worst delay the extension host's event loop saw
   * meanwhile (the budget is 50 ms: heavy work belongs in the worker).
   */
  async callTimed<M extends EngineMethod>(
    method: M,
    params: EngineMethods[M]['params'],
    opts?: RequestOptions,
  ): Promise<{ result: EngineMethods[M]['result']; ms: number; maxLoopDelayMs: number }> {
    await this.ensureModel();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const t0 = performance.now();
    try {
      const result = await this.engine.request(method, params, opts);
      const ms = performance.now() - t0;
      const maxLoopDelayMs = lag.max / 1e6;
      this.log.debug(`${method}: ${ms.toFixed(1)} ms, host event-loop max delay ${maxLoopDelayMs.toFixed(1)} ms`);
      return { result, ms, maxLoopDelayMs };
    } finally {
      lag.disable();
    }
  }

  private async load(spec: string, memoryCheck: boolean): Promise<ModelView> {
    this.setState('loading', `Loading ${spec}…`);
    this.log.info(`loading model ${spec}`);
    const t0 = performance.now();
    try {
      const info = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'FFN Lens' },
        async (progress) =>
          this.engine.request(
            'load',
            {
              spec,
              cacheDir: path.join(this.extension.globalStorageUri.fsPath, 'models'),
              threads: this.config.threads || defaultThreads(),
              memoryCheck,
            },
            {
              onProgress: (p) => {
                const pct = p.fraction === undefined ? '' : ` ${Math.round(p.fraction * 100)}%`;
                progress.report({ message: `${p.message}${pct}` });
                this.setState('loading', `${p.message}${pct}`);
              },
            },
          ),
      );
      // A settings change while loading makes this load stale; the newer one wins.
      if (this.config.model === spec) this.loaded = { spec, info };
      const ms = (performance.now() - t0).toFixed(0);
      this.log.info(`loaded ${info.name} (${info.family}, ${info.nLayers} layers, d_ff ${info.dFf}) in ${ms} ms`);
      this.setState('ready', `${info.name}: ${info.nLayers} layers × ${info.dFf} memories`);
      return info;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log.error(`loading ${spec} failed: ${msg}`);
      this.setState('error', `Could not load ${spec}: ${msg}`);
      if (err instanceof EngineError && err.insufficientMemory) this.offerLoadAnyway(spec, msg);
      throw err;
    }
  }

  /** A load refused by the memory estimate: say why, and let the user load anyway (the estimate can be wrong). */
  private offerLoadAnyway(spec: string, why: string): void {
    void vscode.window.showErrorMessage(`FFN Lens: ${why}`, 'Load Anyway').then((choice) => {
      if (choice === 'Load Anyway' && this.config.model === spec && !this.loading && !this.loaded) this.startLoad(spec, false).catch(() => undefined);
    });
  }

  private setState(state: EngineState, message: string): void {
    this._state = { state, message };
    this.statusBar.set(state, this.config.model, message);
    this.stateEmitter.fire(this._state);
  }

  dispose(): void {
    while (this.disposables.length) this.disposables.pop()?.dispose();
  }
}

/**
 * One core fewer than the machine has: onnxruntime's default (all cores) starves the extension
 * host and the renderer while a forward pass runs, and the editor must stay responsive.
 */
function defaultThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}
