/**
 * What the statistics need of a trigger-example index: a key's top triggers, best first.
 * Declared structurally so the statistics can run on the real index (openTriggerIndex)
 * or on any object of this shape (tests use a synthetic one). The one place that opens
 * an index for the statistics and the report.
 */
import type { Model } from '../model';

export interface TriggerExample {
  paragraph: number;
  window: number;
  position: number;
  coeff: number;
  /** The window's tokens up to and including the trigger. */
  prefix: number[];
  /** The paragraph's following token; null at the paragraph's end. */
  next: number | null;
}

export interface TriggerLookup {
  triggers(layer: number, key: number): readonly TriggerExample[];
}

/** The real index, opened for a model (a mismatched model is an error from the index). */
export async function openTriggers(dir: string, model: Model): Promise<TriggerLookup & { info: unknown }> {
  void dir;
  void model;
  throw new Error('the trigger-example index is not available in this build');
}
