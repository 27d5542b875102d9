// Inspect a text into the panel: Inspect Selection and reopening a session both end here.

import * as vscode from 'vscode';
import type { Ctx } from './ctx';
import { InspectPanel } from './panels/inspectPanel';
import type { InspectView, PanelPlace } from '../protocol';

export interface InspectTextOptions {
  topK: number;
  threshold: number;
  /** Date.now() when the user asked, to log the full latency once painted. */
  startedAt?: number;
  /** The place to open at (a reopened session). */
  restore?: PanelPlace;
}

/** Analyses text, shows it in the panel and keeps it for Export Analysis; errors are shown, not thrown. */
export async function inspectIntoPanel(ctx: Ctx, text: string, o: InspectTextOptions): Promise<InspectView | undefined> {
  const panel = InspectPanel.createOrShow(ctx);
  try {
    const t0 = performance.now();
    const { result, ms, maxLoopDelayMs } = await ctx.callTimed('inspect', { text, topK: o.topK, threshold: o.threshold });
    ctx.log.info(
      `inspected ${result.tokens.length} tokens in ${(performance.now() - t0).toFixed(1)} ms ` +
        `(engine ${ms.toFixed(1)} ms, host event-loop max delay ${maxLoopDelayMs.toFixed(1)} ms)`,
    );
    const view: InspectView = { ...result, source: { label: label(text), text }, threshold: o.threshold };
    ctx.lastAnalysis = view;
    panel.show(view, o.startedAt, o.restore);
    return view;
  } catch (err) {
    void vscode.window.showErrorMessage(`FFN Lens: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** A short one-line label of a text, for titles. */
export function label(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 32 ? `${flat.slice(0, 31)}…` : flat;
}
