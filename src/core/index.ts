/**
 * The public API of the FFN Lens core: the only module the CLI and the extension import.
 * Nothing under src/core imports vscode.
 */
export { Model, type ModelInfo, type LoadOptions, type LoadProgress } from './model';
export type { ModelConfig } from './arch/types';
export { supportedModelTypes } from './arch/registry';
export type { Intervention, HookTensor, RunOptions } from './runtime/session';
export type { Tokenizer, TokenSpan } from './tokenize/types';
export { hookName, candidateHook, allHookNames, selectHooks, canonicalHookName, LOGITS, FINAL_NORM, LAYER_HOOKS, type LayerHookKind } from './hooks';
export { defaultCacheDir } from './graph/cache';
export { PRECISIONS, type Precision } from './graph/quantize';
export { writeFileAtomic } from './io/atomic';
export { readRegularFile, decodeUtf8 } from './io/readFile';
export { inspect, tokensFor, type InspectResult, type InspectOptions, type MemoryHit, type PositionMemories, type TokenPrediction } from './analysis/inspect';
export { decodeValue, type DecodedValue } from './analysis/values';
export { predictWithInterventions, layerPredictions, type InterventionEffect, type LayerPrediction } from './analysis/interventions';
export { VocabProjector } from './analysis/vocab';
export { encodeSafetensors, SafetensorsFile } from './load/safetensors';
export { loadProgressText } from './load/progressText';
export { estimateLoadMemory, memoryShortfall, usableBytes, availableMemory, InsufficientMemoryError, MEMORY_FACTORS, type MemoryEstimate, type AvailableMemory } from './load/memoryEstimate';
export { valueTable, computeValueTable, readValueTable, valueTablePath, ValueTable, ValueTableFileError, DEFAULT_TABLE_K, type ValueTableOptions, type ValueTableProgress, type TokenProb } from './analysis/valueTable';
export { MemorySearch, searchWord, queryTokens, type MemorySearchHit, type SearchSide, type WordSearchResult } from './analysis/search';
export { tokenRanks } from './analysis/ranks';
export { paperStatistics, STATISTICS_VERSION, type PaperStatistics, type StatisticsOptions, type TriggerLookup } from './analysis/statistics/paper';
export type { AgreementStatistics, CalibrationBin, LayerAgreement, LayerActivity, LayerComposition, LayerResidual, PositionStatistics, ResidualOutcome } from './analysis/statistics/paper';
export { renderReport } from './analysis/statistics/report';

import { Model, type LoadOptions } from './model';

/** Loads a model from a directory, a llama2.c .bin file or a hub id. */
export const loadModel = (spec: string, opts?: LoadOptions): Promise<Model> => Model.load(spec, opts);
export { buildTriggerIndex, discardTriggerIndexRun, mergeTriggerIndexes, openTriggerIndex, TriggerIndex, NEGATIVE_SIDE_ABSENT, TriggerIndexAborted, CorpusError, indexedCorpus, DEFAULT_TOP, DEFAULT_WINDOW, indexFile, checkpointFile, spoolFile, type BuildOptions, type Trigger, type TriggerIndexInfo, type IndexProgress, type IndexSettings, type IndexTotals, type CorpusFile } from './analysis/triggers';
export { CORPUS_EXTENSIONS, DEFAULT_TEXT_FIELD, indexStatus, writeRunStatus, statusFile, type CorpusFormat, type ScannedCorpus, type SkippedRecord, type IndexStatus, type RunState } from './analysis/triggers';
export { recordedTextField } from './analysis/triggers';
export { mergedIndexStatus } from './analysis/triggers';
export { findPatterns, keyPatterns, layerPatterns, summarizeKey, summarizeLayer, type Pattern, type PatternKind, type PatternType, type KeyPatterns, type LayerPatterns, type PatternOptions, type PatternVocab } from './analysis/patterns';
export { readLabels, writeLabels, addLabel, removeLabel, labelsFor, LabelFileError, LABELS_VERSION, type KeyLabel, type LabelKind } from './analysis/labels';
export { tracePosition, SequenceTrace, attribute, rankMemories, checkByAblation, singleTokenId, AttributionError, type PositionTrace, type Attribution, type AttributeOptions, type ComponentScore, type MemoryScore, type MemoryOrder, type RankOptions, type TokenRef, type AblationCheck, type ComponentKind } from './analysis/attribution';
export { readValue, readKey, type ReadToken, type VectorReading } from './analysis/embedding';
export { alignPositions, compareTexts, renderCompare, type Alignment, type CompareOptions, type CompareResult, type CompareSide, type MemoryDifference } from './analysis/compare';
export { renderInspectPage, type InspectPageOptions } from './analysis/inspectPage';
