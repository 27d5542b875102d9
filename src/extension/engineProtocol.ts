// The typed channel between the extension host and the engine worker (engineWorker.ts). The
// worker owns the model; the host only sends plain-JSON requests, so a slow forward pass never
// runs on the extension host's event loop.

import type {
  Intervention,
  InterventionResultView,
  LayerLensView,
  LayerView,
  ModelView,
  PredictionView,
  TokenView,
  ValueView,
} from '../protocol';

export interface LoadParams {
  spec: string;
  cacheDir?: string;
  threads?: number;
}

export interface InspectResultView {
  model: ModelView;
  tokens: TokenView[];
  layers: LayerView[];
  predictions: PredictionView[][];
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
  layerPredictions: { params: { ids: number[]; position: number; k: number }; result: LayerLensView[] };
  /** One memory's coefficient at every token of a text (long texts run in context-size windows). */
  keyActivations: { params: { text: string; layer: number; key: number }; result: { tokens: TokenView[]; coeffs: number[] } };
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
  unload: { params: Record<string, never>; result: null };
}

export type EngineMethod = keyof EngineMethods;

export type EngineRequest = {
  [M in EngineMethod]: { kind: 'request'; id: number; method: M; params: EngineMethods[M]['params'] };
}[EngineMethod];

export interface LoadProgress {
  stage: string;
  fraction?: number;
  message: string;
}

export type EngineReply =
  | { kind: 'response'; id: number; ok: true; result: EngineMethods[EngineMethod]['result'] }
  | { kind: 'response'; id: number; ok: false; error: string }
  | { kind: 'progress'; id: number; progress: LoadProgress };
