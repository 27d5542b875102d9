// Worker side of the paper report: the statistics of Geva et al. (2021) on the trigger index and
// the corpus it was built from, rendered to the core's self-contained HTML.

import * as fs from 'node:fs';
import * as core from '../../core/index';
import type { EngineMethods, EngineProgress } from '../engineProtocol';

export async function paperReport(
  model: core.Model,
  index: core.TriggerIndex,
  params: EngineMethods['paperReport']['params'],
  cacheDir: string | undefined,
  job: { signal: AbortSignal; progress: (p: EngineProgress) => void },
): Promise<EngineMethods['paperReport']['result']> {
  const corpus = index.info.corpus.map((f) => f.path);
  const missing = corpus.find((f) => !fs.existsSync(f));
  if (missing) throw new Error(`the corpus file ${missing} that the trigger index was built from is no longer there; the report samples positions from it`);
  const t0 = performance.now();
  const stats = await core.paperStatistics(model, index, {
    corpus,
    textField: core.recordedTextField(index.info.corpus),
    window: index.info.settings.window,
    positions: params.positions,
    cacheDir,
    signal: job.signal,
    onProgress: (stage, fraction) => job.progress({ stage, fraction, message: stage }),
  });
  return { html: core.renderReport(stats), model: stats.model.name, positions: stats.positions.positions, seconds: (performance.now() - t0) / 1000 };
}
