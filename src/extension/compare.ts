// "FFN Lens: Compare Selections…": a minimal pair. Two selections in the editor are A and B (in
// document order); with one selection (or none: the current line), B is an edited copy of it
// typed in an input box ("The nurse said that he" → "… she"). The engine compares them and the
// result opens as a static page in the Compare panel.

import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { label } from './inspectText';
import { COMPARE_VIEW_TYPE, PagePanel } from './panels/reportPanel';

/** Memories shown per layer. */
const MEMORIES = 8;

/** Args (automation, tests): { a: string, b: string } compares these without asking. */
export async function compareSelections(ctx: Ctx, arg?: unknown): Promise<void> {
  const texts = isPair(arg) ? arg : await askPair(ctx);
  if (!texts) return;
  if (texts.a === texts.b) {
    void vscode.window.showWarningMessage('FFN Lens: the two texts are the same; edit one to compare.');
    return;
  }
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'FFN Lens: comparing' }, () =>
      ctx.call('compare', { a: texts.a, b: texts.b, memories: MEMORIES, finalNorm: ctx.config.decodeWithFinalNorm }),
    );
    PagePanel.show(ctx, COMPARE_VIEW_TYPE, r.html, `FFN Lens compare: ${label(texts.a)} ↔ ${label(texts.b)}`);
    ctx.log.info(`compared ${JSON.stringify(label(texts.a))} with ${JSON.stringify(label(texts.b))} on ${r.model}`);
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function isPair(u: unknown): u is { a: string; b: string } {
  const r = u as { a?: unknown; b?: unknown } | null;
  return typeof r === 'object' && r !== null && typeof r.a === 'string' && typeof r.b === 'string' && r.a.trim() !== '' && r.b.trim() !== '';
}

async function askPair(ctx: Ctx): Promise<{ a: string; b: string } | undefined> {
  const editor = ctx.textEditor;
  if (!editor) {
    void vscode.window.showWarningMessage('FFN Lens: open a text file and select the text to compare (two selections, or one to edit a copy of).');
    return undefined;
  }
  const doc = editor.document;
  const selections = editor.selections.filter((s) => !s.isEmpty).sort((x, y) => x.start.compareTo(y.start));
  if (selections.length >= 2) return { a: doc.getText(selections[0]), b: doc.getText(selections[1]) };
  const a = doc.getText(selections[0] ?? doc.lineAt(editor.selection.active.line).range);
  if (!a.trim()) {
    void vscode.window.showWarningMessage('FFN Lens: the selection is empty.');
    return undefined;
  }
  const b = await vscode.window.showInputBox({
    title: 'FFN Lens: Compare Selections',
    prompt: 'Edit the copy to make the second text of the pair (e.g. change one word). Tip: select two passages to compare them directly.',
    value: a,
    validateInput: (v) => (v.trim() === '' ? 'The text is empty' : v === a ? 'Change something to compare' : undefined),
  });
  return b === undefined ? undefined : { a, b };
}
