// "Highlight key activations": shows how strongly one memory fires on each token of the visible
// part of an editor, as background decorations in four levels of a contributed theme colour
// (package.json contributes.colors), so light, dark and high-contrast themes each get their own.

import * as vscode from 'vscode';
import type { Ctx } from './ctx';

const LEVELS = 4;

export class KeyHighlighter implements vscode.Disposable {
  private readonly types: vscode.TextEditorDecorationType[];
  private decorated = new Set<vscode.TextEditor>();

  constructor(private readonly ctx: Ctx) {
    this.types = Array.from({ length: LEVELS }, (_, i) =>
      vscode.window.createTextEditorDecorationType({
        backgroundColor: new vscode.ThemeColor(`ffnLens.activation${i + 1}`),
        borderRadius: '2px',
        // High-contrast themes mark matches with a border (contrastActiveBorder); the others leave
        // it undefined, which VS Code draws as transparent, so only they get the outline.
        borderColor: new vscode.ThemeColor('contrastActiveBorder'),
        borderStyle: i === LEVELS - 1 ? 'solid' : 'dotted',
        borderWidth: '1px',
      }),
    );
  }

  /** Decorates editor with memory layer:key's coefficients; returns the number of tokens analysed. */
  async apply(editor: vscode.TextEditor, layer: number, key: number): Promise<number> {
    const doc = editor.document;
    const visible = editor.visibleRanges;
    const range = visible.length
      ? new vscode.Range(visible[0].start.with(undefined, 0), doc.lineAt(visible[visible.length - 1].end.line).range.end)
      : doc.validateRange(new vscode.Range(0, 0, 200, 0));
    const base = doc.offsetAt(range.start);
    const { tokens, coeffs, gated } = await this.ctx.call('keyActivations', { text: doc.getText(range), layer, key });
    // a gated memory fires both ways: m < 0 adds −|m|·v, as strong as m > 0 (analysis/active.ts)
    const strength = (c: number) => (gated ? Math.abs(c) : c);
    const max = Math.max(0, ...coeffs.map(strength));
    const buckets: vscode.DecorationOptions[][] = Array.from({ length: LEVELS }, () => []);
    tokens.forEach((t, i) => {
      const c = coeffs[i];
      if (!(strength(c) > 0) || max === 0 || t.start === t.end) return;
      const level = Math.min(LEVELS - 1, Math.floor((strength(c) / max) * LEVELS));
      buckets[level].push({
        range: new vscode.Range(doc.positionAt(base + t.start), doc.positionAt(base + t.end)),
        hoverMessage: `FFN Lens · L${layer}:${key} coefficient ${c.toFixed(3)}${c < 0 && gated ? ' (m < 0: promotes its value’s bottom tokens)' : ''}`,
      });
    });
    this.clear();
    this.types.forEach((type, i) => editor.setDecorations(type, buckets[i]));
    this.decorated.add(editor);
    this.ctx.log.info(`highlighted L${layer}:${key} on ${tokens.length} tokens (max ${gated ? '|coefficient|' : 'coefficient'} ${max.toFixed(3)})`);
    return tokens.length;
  }

  clear(): void {
    for (const editor of this.decorated) for (const type of this.types) editor.setDecorations(type, []);
    this.decorated.clear();
  }

  dispose(): void {
    this.clear();
    for (const t of this.types) t.dispose();
  }
}
