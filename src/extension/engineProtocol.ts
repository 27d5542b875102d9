// The typed channel between the extension host and the engine worker (engineWorker.ts). The
// worker owns the model; the host only sends plain-JSON requests, so a slow forward pass never
// runs on the extension host's event loop.

import type {
  AttributeParams,
  AttributionView,
  Intervention,
  InterventionResultView,
  LabelKind,
  LabelView,
  LayerLensView,
  LayerView,
  ModelView,
  PanelPlace,
  PatternsView,
  PredictionView,
  TokenView,
  TriggerExampleView,
  NegativeTriggers,
  TriggerIndexSummary,
  ValueView,
} from '../protocol';

export interface LoadParams {
  spec: string;
  cacheDir?: string;
  threads?: number;
  /** false loads even when the memory estimate says it will not fit (the user chose "Load Anyway"). */
  memoryCheck?: boolean;
  precision?: 'fp32' | 'int8';
}

export interface InspectResultView {
  model: ModelView;
  tokens: TokenView[];
  layers: LayerView[];
  predictions: PredictionView[][];
}

/** What a folder chosen as a trigger index's output holds. */
export type IndexFolderState =
  | { state: 'missing' | 'empty' | 'other' }
  /** An unfinished run's checkpoint: a build with resume continues it. */
  | { state: 'checkpoint' }
  /** A finished index; `sameModel` tells whether the loaded model built it. */
  | { state: 'index'; summary: TriggerIndexSummary; sameModel: boolean };

export interface BuildIndexParams {
  corpus: string[];
  out: string;
  resume: boolean;
  top?: number;
  window?: number;
}

export interface EngineMethods {
  load: { params: LoadParams; result: ModelView };
  tokenize: { params: { text: string }; result: TokenView[] };
  inspect: { params: { text: string; topK: number; threshold?: number }; result: InspectResultView };
  decodeValues: {
    params: { items: { layer: number; key: number }[]; k: number; finalNorm: boolean };
    result: ValueView[];
  };
  intervene: {
    params: { ids: number[]; position: number; interventions: Intervention[]; k: number };
    result: InterventionResultView;
  };
  /** The logit lens at one position, with the interventions applied (none: the model as is). */
  layerPredictions: { params: { ids: number[]; position: number; k: number; interventions: Intervention[] }; result: LayerLensView[] };
  /** One memory's coefficient at every token of a text (long texts run in context-size windows). */
  /** gated: the coefficients are signed (act(gate)·up), and a memory fires by |m| (analysis/active.ts). */
  keyActivations: { params: { text: string; layer: number; key: number }; result: { tokens: TokenView[]; coeffs: number[]; gated: boolean } };
  /**
   * Memories whose value vectors promote (or suppress) a word's first token, from the model's
   * value table (computed once per model and cached on disk; progress is reported meanwhile).
   */
  searchWord: {
    params: { word: string; side: 'promote' | 'suppress'; limit: number; finalNorm: boolean };
    result: {
      tokens: { id: number; text: string }[];
      hits: { layer: number; key: number; tokenId: number; prob: number; rank: number }[];
    };
  };
  indexFolderState: { params: { dir: string }; result: IndexFolderState };
  /** Deletes an unfinished run's checkpoint and spool, so the next build starts over. */
  discardCheckpoint: { params: { dir: string }; result: null };
  /** Builds (or resumes) a trigger index; cancellable, reporting `index` progress. */
  buildTriggerIndex: { params: BuildIndexParams; result: TriggerIndexSummary };
  /** Opens the index in dir for the loaded model (an error names a model mismatch). */
  openTriggerIndex: { params: { dir: string }; result: TriggerIndexSummary };
  /** A key's trigger examples (all kept, best first) and its automatic patterns, with the index's facts. */
  memoryTriggers: {
    params: { dir: string; layer: number; key: number };
    result: { summary: TriggerIndexSummary; triggers: TriggerExampleView[]; negative: NegativeTriggers; patterns: PatternsView };
  };
  /** Human labels of one key, after an optional edit; the file is the workspace's labels JSON. */
  labels: {
    params: { file: string; layer: number; key: number; edit?: { op: 'add'; text: string; kind: LabelKind } | { op: 'remove'; text: string } };
    result: LabelView[];
  };
  /** The paper's statistics on the index and its corpus, rendered as the HTML report (value tables cached beside the model's). */
  paperReport: {
    params: { dir: string; positions?: number };
    result: { html: string; model: string; positions: number; seconds: number };
  };
  /** Direct logit attribution at a position; the sequence's trace is kept, so other positions and targets cost no forward pass. */
  attribute: { params: AttributeParams; result: AttributionView };
  unload: { params: Record<string, never>; result: null };
  /** A minimal pair: the memories that differ most per layer and both predictions, as a page. */
  compare: { params: { a: string; b: string; memories: number; finalNorm: boolean }; result: { html: string; model: string } };
  /** An inspection with its selected cell and interventions, as a self-contained page (Export as HTML). */
  inspectPage: { params: { text: string; topK: number; threshold: number; place: PanelPlace; finalNorm: boolean; label: string }; result: { html: string } };
}

export type EngineMethod = keyof EngineMethods;

export type EngineRequest = {
  [M in EngineMethod]: { kind: 'request'; id: number; method: M; params: EngineMethods[M]['params'] };
}[EngineMethod];

/** Host → worker: stop request `id` (its AbortSignal fires; long jobs stop at a safe point). */
export interface EngineCancel {
  kind: 'cancel';
  id: number;
}

export type EngineMessage = EngineRequest | EngineCancel;

/** Trigger-index build progress, as the core reports it. */
export interface IndexProgressView {
  tokens: number;
  totalTokens?: number;
  tokensPerSecond: number;
  etaSeconds?: number;
  paragraphs: number;
}

export interface EngineProgress {
  stage: string;
  fraction?: number;
  message: string;
  /** Set for buildTriggerIndex, so the host can show tokens/s and ETA. */
  index?: IndexProgressView;
}

export type EngineReply =
  | { kind: 'response'; id: number; ok: true; result: EngineMethods[EngineMethod]['result'] }
  /** `aborted`: the request was cancelled and stopped cleanly (not a failure to report). */
  | { kind: 'response'; id: number; ok: false; error: string; aborted?: boolean; /** a load refused by the memory estimate */ insufficientMemory?: boolean }
  | { kind: 'progress'; id: number; progress: EngineProgress };
