/**
 * Reading a finished trigger index: a key's top triggers with their prefixes and next
 * tokens, and for a signed index (gated FFNs) its negative triggers, where m < 0 and the
 * memory promotes its value's bottom tokens.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Model } from '../../model';
import { checkpointFile, indexFile, readIndex, type IndexContent, type TriggerIndexInfo } from './format';
import type { SortedEntries } from './topn';

export interface Trigger {
  paragraph: number;
  /** Window number within the paragraph. */
  window: number;
  /** Position within the window (the forward pass started at its position 0). */
  position: number;
  coeff: number;
  /** The window's tokens up to and including the trigger. */
  prefix: number[];
  /** The paragraph's token after the trigger; null at the paragraph's end. */
  next: number | null;
}

/**
 * Said wherever a gated memory's negative triggers would be shown but the index has none
 * to show: absent, not empty.
 */
export const NEGATIVE_SIDE_ABSENT =
  'this trigger index keeps no negative triggers: it is unsigned (format version 1), built before FFN Lens kept both signs for gated models; rebuild it to see where this memory fires negative';

export class TriggerIndex {
  private readonly rowOf = new Map<number, number>();

  constructor(
    readonly dir: string,
    private readonly content: IndexContent,
  ) {
    content.tokens.paragraphs.forEach((p, i) => this.rowOf.set(p, i));
  }

  get info(): TriggerIndexInfo {
    return this.content.info;
  }

  private keyIndex(layer: number, key: number): number {
    const { nLayers, dFf } = this.info.model;
    if (!(Number.isInteger(layer) && layer >= 0 && layer < nLayers)) throw new Error(`layer ${layer} is outside 0..${nLayers - 1}`);
    if (!(Number.isInteger(key) && key >= 0 && key < dFf)) throw new Error(`key ${key} is outside 0..${dFf - 1}`);
    return layer * dFf + key;
  }

  /** How many triggers the key has (fewer than top only on a tiny corpus). */
  count(layer: number, key: number): number {
    return this.content.entries.counts[this.keyIndex(layer, key)];
  }

  /**
   * Whether the index keeps negative triggers: true for signed indexes (gated models, format
   * version 2); false for unsigned ones, including version 1 indexes of gated models.
   */
  get signed(): boolean {
    return this.content.negative !== null;
  }

  /** Token ids of a paragraph that holds a trigger (undefined for any other paragraph). */
  paragraphTokens(paragraph: number): Uint32Array | undefined {
    const row = this.rowOf.get(paragraph);
    if (row === undefined) return undefined;
    const t = this.content.tokens;
    return t.ids.subarray(t.offsets[row], t.offsets[row + 1]);
  }

  /** The key's triggers, best first (of a signed index: those with m > 0). */
  triggers(layer: number, key: number): Trigger[] {
    return this.read(this.content.entries, layer, key);
  }

  /**
   * A signed index's negative triggers of the key, most negative first (m < 0: the memory
   * promotes its value's bottom tokens there); null when the index has no negative side
   * (an unsigned index), which is not the same as a key with none.
   */
  negativeTriggers(layer: number, key: number): Trigger[] | null {
    const negative = this.content.negative;
    return negative ? this.read(negative, layer, key) : null;
  }

  private read(e: SortedEntries, layer: number, key: number): Trigger[] {
    const k = this.keyIndex(layer, key);
    const W = this.info.settings.window;
    const out: Trigger[] = [];
    for (let i = e.starts[k]; i < e.starts[k + 1]; i++) {
      const paragraph = e.paragraph[i];
      const tokens = this.paragraphTokens(paragraph);
      if (!tokens) throw new Error(`${indexFile(this.dir)} is damaged: paragraph ${paragraph}'s tokens are missing`);
      const at = e.window[i] * W + e.position[i];
      if (at >= tokens.length) throw new Error(`${indexFile(this.dir)} is damaged: a trigger points past paragraph ${paragraph}'s end`);
      out.push({
        paragraph,
        window: e.window[i],
        position: e.position[i],
        coeff: e.coeff[i],
        prefix: Array.from(tokens.subarray(e.window[i] * W, at + 1)),
        next: at + 1 < tokens.length ? tokens[at + 1] : null,
      });
    }
    return out;
  }
}

/**
 * Opens the index in `dir`. With a model, checks that the index was built with it: the
 * coefficients of another model's keys would be meaningless.
 */
export function openTriggerIndex(dir: string, model?: Model): TriggerIndex {
  const abs = path.resolve(dir);
  if (!fs.existsSync(indexFile(abs))) {
    if (fs.existsSync(checkpointFile(abs))) throw new Error(`${dir} holds an unfinished trigger index; finish it with \`ffn-lens index … --out ${dir} --resume\``);
    throw new Error(`${dir} holds no trigger index (no ${path.basename(indexFile(abs))}); build one with \`ffn-lens index\``);
  }
  const index = new TriggerIndex(abs, readIndex(abs));
  if (model && model.info.hash !== index.info.model.hash) {
    const m = index.info.model;
    throw new Error(`${dir} was built with ${m.name} (model hash ${m.hash}, from ${m.source}); the loaded model is ${model.info.name} (hash ${model.info.hash}). Open it with the model it was built with, or rebuild the index.`);
  }
  return index;
}
