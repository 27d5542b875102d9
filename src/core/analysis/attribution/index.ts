/** Direct logit attribution: why the model predicts a token at a position. */
export { AttributionError } from './errors';
export { tracePosition, SequenceTrace, type PositionTrace, type TracedComponent, type ComponentKind } from './trace';
export { attribute, rankMemories, type Attribution, type AttributeOptions, type ComponentScore, type MemoryScore, type MemoryOrder, type RankOptions, type TokenRef } from './attribute';
export { checkByAblation, type AblationCheck } from './ablation';
export { singleTokenId } from './tokens';
