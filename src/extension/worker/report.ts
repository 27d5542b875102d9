// Worker side of the paper report: the statistics of Geva et al. (2021) on the trigger index and
// the corpus it was built from, rendered to the core's self-contained HTML.

import * as core from '../../core/index';
import type { EngineMethods, EngineProgress } from '../engineProtocol';

export async function paperReport(
  model: core.Model,
  index: core.TriggerIndex,
  params: EngineMethods['paperReport']['params'],
  cacheDir: string | undefined,
  job: { signal: AbortSignal; progress: (p: EngineProgress) => void },
): Promise<EngineMethods['paperReport']['result']> {
  // the files the index was built from, unchanged (same sha256), or a clear error
  const corpus = await core.indexedCorpus(index.info.corpus, job.signal);
  const t0 = performance.now();
  const stats = await core.paperStatistics(model, index, {
    corpus,
    window: index.info.settings.window,
    positions: params.positions,
    cacheDir,
    signal: job.signal,
    onProgress: (stage, fraction) => job.progress({ stage, fraction, message: stage }),
  });
  return { html: core.renderReport(stats), model: stats.model.name, positions: stats.positions.positions, seconds: (performance.now() - t0) / 1000 };
}
