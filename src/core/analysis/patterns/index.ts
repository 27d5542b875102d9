/** Automatic patterns of a key's triggers, and their null on random positions. */
export { findPatterns, keyPatterns, layerPatterns, summarizeKey, summarizeLayer, coverageOf, type Pattern, type PatternKind, type PatternType, type KeyPatterns, type LayerPatterns, type Coverage, type PatternOptions, type PatternVocab } from './detect';
export { nullCoverage, randomTriggers, type NullOptions } from './null';
