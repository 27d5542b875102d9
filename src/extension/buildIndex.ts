// "FFN Lens: Build Trigger Index…": pick corpus files and an output folder, then build the index
// in the engine worker behind a cancellable progress notification. A cancelled run leaves the
// core's checkpoint; choosing the same folder again offers to resume it. On success the index
// becomes the workspace's ffnLens.triggerIndex and the panel shows trigger examples.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { EngineError } from './engine';
import type { IndexProgressView } from './engineProtocol';
import type { ModelView } from '../protocol';

/**
 * Optional command arguments, for keybindings and automation (the e2e test uses them where a
 * browser cannot drive a native dialog): any field given skips its question.
 */
export interface BuildIndexArgs {
  corpus?: string[];
  out?: string;
  /** true: continue a checkpoint without asking; false: discard it without asking. */
  resume?: boolean;
}

export function parseBuildIndexArgs(u: unknown): BuildIndexArgs {
  if (typeof u !== 'object' || u === null) return {};
  const r = u as Record<string, unknown>;
  const args: BuildIndexArgs = {};
  if (Array.isArray(r.corpus) && r.corpus.length > 0 && r.corpus.every((f) => typeof f === 'string' && f.length > 0)) args.corpus = r.corpus as string[];
  if (typeof r.out === 'string' && r.out.length > 0) args.out = r.out;
  if (typeof r.resume === 'boolean') args.resume = r.resume;
  return args;
}

const grouped = (n: number): string => Math.round(n).toLocaleString('en-US');

function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** "1,234 / ~3,500 tokens · 2,100 tok/s · ETA 2 s" */
export function formatIndexProgress(p: IndexProgressView): string {
  const total = p.totalTokens ? ` / ~${grouped(p.totalTokens)}` : '';
  const eta = p.etaSeconds === undefined ? '' : ` · ETA ${duration(p.etaSeconds)}`;
  return `${grouped(p.tokens)}${total} tokens · ${grouped(p.tokensPerSecond)} tok/s${eta}`;
}

/** A folder name that says which corpus and model the index is for. */
export function defaultIndexName(corpusFile: string, model: string): string {
  const stem = path.basename(corpusFile).replace(/\.[^.]*$/, '');
  return `${stem}.${model}.ffn-index`.replace(/[^\w.+-]+/g, '_');
}

let running = false;

export async function buildTriggerIndexCommand(ctx: Ctx, rawArgs?: unknown): Promise<void> {
  if (running) {
    void vscode.window.showInformationMessage('FFN Lens: a trigger index is already being built; cancel it from its notification first.');
    return;
  }
  running = true;
  try {
    await run(ctx, parseBuildIndexArgs(rawArgs));
  } finally {
    running = false;
  }
}

async function run(ctx: Ctx, args: BuildIndexArgs): Promise<void> {
  let info: ModelView;
  try {
    info = await ctx.ensureModel();
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: the trigger index needs the model, which did not load: ${errorText(err)}`);
    return;
  }
  const corpus = args.corpus ?? (await pickCorpus());
  if (!corpus?.length) return;
  const missing = corpus.find((f) => !fs.existsSync(f));
  if (missing) {
    void vscode.window.showErrorMessage(`FFN Lens: the corpus file ${missing} does not exist.`);
    return;
  }
  const out = args.out ?? (await pickOutput(ctx, corpus[0], info));
  if (!out) return;

  const resume = await decideResume(ctx, out, args);
  if (resume === undefined) return;
  await build(ctx, corpus, out, resume);
}

async function pickCorpus(): Promise<string[] | undefined> {
  const uris = await vscode.window.showOpenDialog({
    title: 'FFN Lens: corpus files for the trigger index',
    openLabel: 'Index',
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: true,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    // the formats the core reads (CORPUS_EXTENSIONS; any .gz: gzip of text or JSON Lines); folders via the command's corpus argument
    filters: { 'Corpus files (text, JSON Lines, Parquet, gzip)': ['txt', 'raw', 'md', 'text', 'tokens', 'jsonl', 'ndjson', 'parquet', 'gz'], 'All files': ['*'] },
  });
  return uris?.map((u) => u.fsPath);
}

/**
 * The output folder. The default is a folder next to the first corpus file: it stays with the
 * data, is easy to find and to hand to the CLI (`ffn-lens report --index`), and survives
 * uninstalling the extension; the extension's workspace storage is offered for read-only corpora.
 */
async function pickOutput(ctx: Ctx, firstCorpus: string, info: ModelView): Promise<string | undefined> {
  type Item = vscode.QuickPickItem & { dir?: string; browse?: true };
  const name = defaultIndexName(firstCorpus, info.name);
  const items: Item[] = [{ label: '$(folder) Next to the corpus', description: path.join(path.dirname(firstCorpus), name), dir: path.join(path.dirname(firstCorpus), name) }];
  const storage = ctx.extension.storageUri?.fsPath;
  if (storage) items.push({ label: "$(database) The extension's workspace storage", description: path.join(storage, 'trigger-indexes', name), dir: path.join(storage, 'trigger-indexes', name) });
  items.push({ label: '$(folder-opened) Choose a folder…', browse: true });
  for (const it of items) {
    if (!it.dir) continue;
    const state = await ctx.call('indexFolderState', { dir: it.dir }).catch(() => undefined);
    if (state?.state === 'checkpoint') it.detail = '$(debug-pause) holds an unfinished index: you can resume it';
    else if (state?.state === 'index') it.detail = `$(check) holds an index (${state.summary.model}, ${grouped(state.summary.tokens)} tokens)`;
  }
  const pick = await vscode.window.showQuickPick(items, { title: 'FFN Lens: where to write the trigger index', placeHolder: 'Output folder' });
  if (!pick) return undefined;
  if (!pick.browse) return pick.dir;
  const uris = await vscode.window.showOpenDialog({ title: 'FFN Lens: trigger index folder', openLabel: 'Use this folder', canSelectFiles: false, canSelectFolders: true, canSelectMany: false });
  return uris?.[0]?.fsPath;
}

/** true: resume a checkpoint; false: build from scratch; undefined: the user backed out. */
async function decideResume(ctx: Ctx, out: string, args: BuildIndexArgs): Promise<boolean | undefined> {
  const state = await ctx.call('indexFolderState', { dir: out });
  if (state.state === 'other' && !fs.statSync(out).isDirectory()) {
    void vscode.window.showErrorMessage(`FFN Lens: ${out} is a file; choose a folder for the trigger index.`);
    return undefined;
  }
  if (state.state === 'checkpoint') {
    let resume = args.resume;
    if (resume === undefined) {
      const pick = await vscode.window.showInformationMessage(
        `${out} holds an unfinished trigger index. Resume it where it stopped, or start over?`,
        { modal: true },
        'Resume',
        'Start Over',
      );
      if (!pick) return undefined;
      resume = pick === 'Resume';
    }
    if (!resume) await ctx.call('discardCheckpoint', { dir: out });
    return resume;
  }
  if (state.state === 'index' && args.out === undefined) {
    const use = 'Use It';
    const pick = await vscode.window.showInformationMessage(
      state.sameModel
        ? `${out} already holds a trigger index for ${state.summary.model} (${grouped(state.summary.tokens)} tokens). Use it, or rebuild it?`
        : `${out} holds a trigger index built with ${state.summary.model}, not the loaded ${ctx.modelInfo?.name ?? 'model'}. Rebuild it?`,
      { modal: true },
      ...(state.sameModel ? [use, 'Rebuild'] : ['Rebuild']),
    );
    if (!pick) return undefined;
    if (pick === use) {
      await useIndex(ctx, out, 'Using the existing trigger index');
      return undefined;
    }
  }
  return false;
}

async function build(ctx: Ctx, corpus: string[], out: string, resume: boolean): Promise<void> {
  const controller = new AbortController();
  const t0 = performance.now();
  ctx.log.info(`${resume ? 'resuming' : 'building'} trigger index ${out} from ${corpus.join(', ')}`);
  try {
    const summary = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `FFN Lens: ${resume ? 'resuming' : 'building'} the trigger index`, cancellable: true },
      (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let done = 0;
        return ctx.call(
          'buildTriggerIndex',
          { corpus, out, resume },
          {
            signal: controller.signal,
            onProgress: (p) => {
              if (!p.index) return;
              const pct = p.fraction === undefined ? done : Math.round(p.fraction * 100);
              progress.report({ message: formatIndexProgress(p.index), increment: Math.max(0, pct - done) });
              done = Math.max(done, pct);
            },
          },
        );
      },
    );
    const secs = (performance.now() - t0) / 1000;
    ctx.log.info(`trigger index built in ${secs.toFixed(1)} s: ${summary.paragraphs} paragraphs, ${summary.tokens} tokens → ${summary.dir}`);
    await useIndex(ctx, summary.dir, `Trigger index built in ${duration(secs)}: ${grouped(summary.paragraphs)} paragraphs, ${grouped(summary.tokens)} tokens`);
  } catch (err) {
    if (err instanceof EngineError && err.aborted) {
      const state = await ctx.call('indexFolderState', { dir: out }).catch(() => undefined);
      ctx.log.info(`trigger index cancelled: ${err.message}`);
      if (state?.state !== 'checkpoint') {
        void vscode.window.showInformationMessage('FFN Lens: indexing was cancelled before its first checkpoint; nothing was kept.');
        return;
      }
      // Not awaited: a notification's promise settles only when it is closed, which may be never.
      void vscode.window.showInformationMessage(`FFN Lens: indexing was cancelled; ${out} keeps a checkpoint to continue from.`, 'Resume').then((pick) => {
        if (pick === 'Resume') void vscode.commands.executeCommand('ffnLens.buildTriggerIndex', { corpus, out, resume: true } satisfies BuildIndexArgs);
      });
      return;
    }
    ctx.log.error(`building the trigger index failed: ${errorText(err)}`);
    void vscode.window.showErrorMessage(`FFN Lens: building the trigger index failed: ${errorText(err)}`);
  }
}

/** Sets ffnLens.triggerIndex to dir and says whether it opened for the loaded model. */
async function useIndex(ctx: Ctx, dir: string, what: string): Promise<void> {
  const state = await ctx.triggers.use(dir);
  if (state.state === 'error') {
    void vscode.window.showErrorMessage(`FFN Lens: ${state.message}`);
    return;
  }
  const report = 'Open Paper Report';
  void vscode.window.showInformationMessage(`FFN Lens: ${what}. It is now this workspace's trigger index (${dir}).`, report).then((pick) => {
    if (pick === report) void vscode.commands.executeCommand('ffnLens.openPaperReport');
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
