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
  decodeValues: { params: { items: { layer: number; key: number }[]; k: number }; result: ValueView[] };
  intervene: {
    params: { ids: number[]; position: number; interventions: Intervention[]; k: number };
    result: InterventionResultView;
  };
  layerPredictions: { params: { ids: number[]; position: number; k: number }; result: LayerLensView[] };
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
