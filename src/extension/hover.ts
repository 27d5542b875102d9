// Hover a token: the model's top next-token predictions there and the top memories firing on it,
// with their value tokens. Analyses are per paragraph (a window of tokens around the cursor) and
// cached per document version, so a warm hover costs a map lookup plus, at most, one small
// value-decoding request. Each hover logs its own latency (entry → result), warm or cold.

import * as vscode from 'vscode';
import { Config } from './config';
import type { Ctx } from './ctx';
import type { InspectResultView } from './engineProtocol';
import type { AttributionView, PredictionView, TokenView, ValueView } from '../protocol';

const MAX_CACHE = 32;
const HOVER_MEMORIES = 3;
const VALUE_TOKENS = 5;

/** Cache misses of one hover: none means it was answered from the caches (warm). */
interface Trace {
  misses: number;
}

interface Chunk {
  /** Document offset of the analysed text's first character. */
  base: number;
  result: InspectResultView;
}

export class FfnHoverProvider implements vscode.HoverProvider {
  /** key → analysis; insertion order doubles as LRU order. */
  private readonly chunks = new Map<string, Promise<Chunk>>();
  private readonly values = new Map<string, Promise<ValueView>>();
  private readonly tokenized = new Map<string, Promise<TokenView[]>>();
  private readonly attributions = new Map<string, Promise<AttributionView | undefined>>();

  constructor(private readonly ctx: Ctx) {
    ctx.onDidChangeState((s) => {
      // A new model invalidates every cached analysis.
      if (s.state === 'loading') this.clear();
    });
  }

  clear(): void {
    this.chunks.clear();
    this.values.clear();
    this.tokenized.clear();
    this.attributions.clear();
  }

  async provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const t0 = performance.now();
    if (!this.ctx.config.hoverEnabled) return undefined;
    if (!this.ctx.modelInfo) {
      // The first hover of a session starts loading the model (the status bar shows its
      // progress) and answers nothing: waiting here would hold the tooltip for seconds.
      this.ctx.loadInBackgroundOnce();
      return undefined;
    }
    const paragraph = paragraphAround(doc, pos);
    if (!paragraph) return undefined;
    const trace: Trace = { misses: 0 };
    const hover = await this.hoverAt(doc, pos, paragraph, token, trace);
    if (hover) this.ctx.log.info(`hover ${trace.misses === 0 ? 'warm' : 'cold'}: ${(performance.now() - t0).toFixed(1)} ms (provider entry → result)`);
    return hover;
  }

  private async hoverAt(doc: vscode.TextDocument, pos: vscode.Position, paragraph: vscode.Range, token: vscode.CancellationToken, trace: Trace): Promise<vscode.Hover | undefined> {
    const chunk = await this.chunkFor(doc, paragraph, doc.offsetAt(pos), trace);
    if (!chunk || token.isCancellationRequested) return undefined;
    const offset = doc.offsetAt(pos) - chunk.base;
    const index = chunk.result.tokens.findIndex((t) => t.start <= offset && offset < t.end);
    if (index < 0) return undefined;
    const tok = chunk.result.tokens[index];
    const memories = chunk.result.layers
      .flatMap((l) => l.positions[index].keys.map((key, i) => ({ layer: l.layer, key, coeff: l.positions[index].coeffs[i] })))
      .sort((a, b) => b.coeff - a.coeff)
      .slice(0, HOVER_MEMORIES);
    const [values, why] = await Promise.all([Promise.all(memories.map((m) => this.value(m.layer, m.key, trace))), this.support(chunk, index, trace)]);
    if (token.isCancellationRequested) return undefined;

    const md = new vscode.MarkdownString();
    md.appendMarkdown(`**FFN Lens** · token ${code(tok.text)} (id ${tok.id}, position ${index})\n\n`);
    md.appendMarkdown(`Next token: ${predList(chunk.result.predictions[index] ?? [])}\n\n`);
    md.appendMarkdown('Top memories:\n');
    memories.forEach((m, i) => {
      md.appendMarkdown(`- L${m.layer}:${m.key} (${m.coeff.toFixed(2)}) → ${values[i].top.map((p) => code(p.text)).join(' ')}\n`);
    });
    if (why && why.support.length) {
      md.appendMarkdown(`\nMemories that most support ${code(why.target.text)} (logit ${why.logit.toFixed(2)}):\n`);
      for (const m of why.support) md.appendMarkdown(`- L${m.layer}:${m.key} +${m.score.toFixed(2)}\n`);
    }
    const range = new vscode.Range(doc.positionAt(chunk.base + tok.start), doc.positionAt(chunk.base + tok.end));
    return new vscode.Hover(md, range);
  }

  /**
   * The analysis covering the cursor. A paragraph that fits the window is analysed whole; a longer
   * one in windows of `limit` tokens with a stride of half that, picking the first window that
   * contains the cursor, so the token keeps at least half a window of left context.
   */
  private async chunkFor(doc: vscode.TextDocument, paragraph: vscode.Range, cursor: number, trace: Trace): Promise<Chunk | undefined> {
    const base = doc.offsetAt(paragraph.start);
    const text = doc.getText(paragraph);
    const key = `${this.ctx.config.model}|${doc.uri.toString()}@${doc.version}#${base}`;
    const tokens = await this.cached(this.tokenized, key, () => this.ctx.call('tokenize', { text }), trace);
    const limit = Math.min(this.ctx.config.windowSize, this.ctx.modelInfo?.contextSize ?? 512);
    if (tokens.length <= limit) return this.cached(this.chunks, key, () => this.analyse(text, base), trace);
    const c = tokens.findIndex((t) => t.end > cursor - base);
    if (c < 0) return undefined;
    const stride = Math.max(1, Math.floor(limit / 2));
    const w = Math.max(0, Math.ceil((c - limit + 1) / stride));
    const first = tokens[w * stride];
    const last = tokens[Math.min(tokens.length, w * stride + limit) - 1];
    return this.cached(this.chunks, `${key}/${w}`, () => this.analyse(text.slice(first.start, last.end), base + first.start), trace);
  }

  /** A bounded LRU of promises: concurrent hovers share one request; failures are not kept. */
  private cached<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>, trace: Trace): Promise<T> {
    let hit = map.get(key);
    if (hit) {
      map.delete(key);
    } else {
      trace.misses++;
      hit = make();
      hit.catch(() => map.delete(key));
    }
    map.set(key, hit);
    while (map.size > MAX_CACHE) map.delete(map.keys().next().value as string);
    return hit;
  }

  private async analyse(text: string, base: number): Promise<Chunk> {
    const result = await this.ctx.call('inspect', { text, topK: HOVER_MEMORIES, threshold: this.ctx.config.threshold });
    return { base, result };
  }

  /**
   * The memories that most support the predicted token here. The worker keeps the paragraph's
   * trace, so after its first token each one costs an attribution, not a forward pass. A model
   * attribution refuses (see the core) leaves this part out rather than failing the hover.
   */
  private support(chunk: Chunk, index: number, trace: Trace): Promise<AttributionView | undefined> {
    const ids = chunk.result.tokens.map((t) => t.id);
    return this.cached(
      this.attributions,
      `${this.ctx.config.model}|${ids.join(',')}@${index}`,
      () => this.ctx.call('attribute', { ids, position: index, target: null, contrast: null, k: HOVER_MEMORIES }).catch(() => undefined),
      trace,
    );
  }

  private value(layer: number, key: number, trace: Trace): Promise<ValueView> {
    const finalNorm = this.ctx.config.decodeWithFinalNorm;
    return this.cached(
      this.values,
      `${layer}:${key}:${finalNorm}`,
      () => this.ctx.call('decodeValues', { items: [{ layer, key }], k: VALUE_TOKENS, finalNorm }).then((r) => r[0]),
      trace,
    );
  }
}

/**
 * The document selector for the languages in ffnLens.hover.languages ('*': all). Notebook cells
 * match by their cell's language like any document.
 */
export function hoverSelector(languages: readonly string[]): vscode.DocumentSelector {
  return languages.includes('*') ? '*' : languages.map((language) => ({ language }));
}

/**
 * Registers the hover for the configured languages, again whenever the setting changes: outside
 * them VS Code never asks, so FFN Lens does not compete with a language server's hover.
 */
export function registerHover(ctx: Ctx): vscode.Disposable {
  const provider = new FfnHoverProvider(ctx);
  let registration = vscode.languages.registerHoverProvider(hoverSelector(ctx.config.hoverLanguages), provider);
  const listener = vscode.workspace.onDidChangeConfiguration((e) => {
    if (!Config.affectsHoverLanguages(e)) return;
    registration.dispose();
    registration = vscode.languages.registerHoverProvider(hoverSelector(ctx.config.hoverLanguages), provider);
    ctx.log.info(`hover languages: ${ctx.config.hoverLanguages.join(', ') || 'none'}`);
  });
  return { dispose: () => (registration.dispose(), listener.dispose()) };
}

/**
 * The paragraph (lines between blank lines) around pos; its start anchors the cache key, so
 * moving within a paragraph reuses one analysis.
 */
function paragraphAround(doc: vscode.TextDocument, pos: vscode.Position): vscode.Range | undefined {
  if (doc.lineAt(pos.line).isEmptyOrWhitespace) return undefined;
  let first = pos.line;
  let last = pos.line;
  while (first > 0 && !doc.lineAt(first - 1).isEmptyOrWhitespace) first--;
  while (last < doc.lineCount - 1 && !doc.lineAt(last + 1).isEmptyOrWhitespace) last++;
  return new vscode.Range(first, 0, last, doc.lineAt(last).text.length);
}

function predList(preds: PredictionView[]): string {
  return preds.map((p) => `${code(p.text)} ${(p.prob * 100).toFixed(1)}%`).join(' · ');
}

/** A token as inline code: escapes whitespace so " the" and "\n" stay visible. */
function code(text: string): string {
  const shown = JSON.stringify(text).slice(1, -1).replace(/`/g, 'ˋ');
  return '`' + (shown.length ? shown : '∅') + '`';
}
