/** Throughput and ETA of an indexing run, measured over this session (not a resumed run's past). */

export interface IndexProgress {
  /** Tokens indexed so far, including those of a resumed run. */
  tokens: number;
  /** Estimated total for this run's share of the corpus (from the share of text read). */
  totalTokens?: number;
  tokensPerSecond: number;
  etaSeconds?: number;
  /** Paragraphs indexed so far. */
  paragraphs: number;
}

export class ProgressMeter {
  private readonly started = performance.now();
  private readonly tokensAtStart: number;

  constructor(
    tokensAtStart: number,
    private readonly totalChars: number,
  ) {
    this.tokensAtStart = tokensAtStart;
  }

  /** `charsRead`: text of every paragraph read so far, processed or skipped, out of the corpus total. */
  report(tokens: number, paragraphs: number, charsRead: number): IndexProgress {
    const seconds = (performance.now() - this.started) / 1000;
    const tokensPerSecond = seconds > 0 ? (tokens - this.tokensAtStart) / seconds : 0;
    const fraction = this.totalChars > 0 ? Math.min(1, charsRead / this.totalChars) : 1;
    const totalTokens = fraction > 0 ? Math.round(tokens / fraction) : undefined;
    const etaSeconds = totalTokens !== undefined && tokensPerSecond > 0 ? Math.max(0, (totalTokens - tokens) / tokensPerSecond) : undefined;
    return { tokens, totalTokens, tokensPerSecond, etaSeconds, paragraphs };
  }
}
