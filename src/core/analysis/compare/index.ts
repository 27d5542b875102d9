export { alignPositions, compareTexts, type Alignment, type CompareOptions, type CompareResult, type CompareSide, type MemoryDifference } from './compare';
export { renderCompare } from './render';
