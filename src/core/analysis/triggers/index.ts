/** The trigger-example index: build (streaming, resumable, sharded), merge, open. */
export { buildTriggerIndex, discardTriggerIndexRun, TriggerIndexAborted, DEFAULT_TOP, DEFAULT_WINDOW, type BuildOptions } from './build';
export { mergeTriggerIndexes } from './merge';
export { openTriggerIndex, TriggerIndex, NEGATIVE_SIDE_ABSENT, type Trigger } from './open';
export { CorpusError, indexedCorpus, type CorpusFile } from './corpus';
export type { IndexProgress } from './progress';
export type { TriggerIndexInfo, IndexSettings, IndexTotals, IndexedModel, Shard } from './format';
export { indexFile, checkpointFile, spoolFile } from './format';
export { DEFAULT_BATCH, POOL_TOKENS, planBatches, paddedIds, windowsOf, type Batch, type BatchLimits, type Window } from './windows';
export { CORPUS_EXTENSIONS, type CorpusFormat } from './corpusFiles';
export { DEFAULT_TEXT_FIELD, type ScannedCorpus, type SkippedRecord } from './corpus';
export { indexStatus, writeRunStatus, statusFile, type IndexStatus, type RunState } from './status';
export { recordedTextField } from './corpus';
export { mergedIndexStatus } from './status';
