// The one contract between the extension host and the webview panel. The webview only renders
// what the host sends and asks the host for more through typed requests; the host validates every
// message it receives (a webview is untrusted input: it renders model output, which is arbitrary
// text), so nothing here may be trusted by shape alone — see parseWebviewMessage.

// ---------- data shown in the panel (plain JSON, no class instances: it is structured-cloned) ----

export interface ModelView {
  name: string;
  family: string;
  nLayers: number;
  dModel: number;
  dFf: number;
  vocabSize: number;
  contextSize: number;
}

export interface TokenView {
  id: number;
  text: string;
  /** UTF-16 offsets into the inspected text. */
  start: number;
  end: number;
}

export interface CellView {
  /**
   * The top memories at this layer and token, strongest first, as parallel arrays: a heatmap of
   * 128 tokens holds ~10k of them, and columns keep the message to the webview about half the
   * size of {key, coeff} objects.
   */
  keys: number[];
  coeffs: number[];
  /** Number of memories whose coefficient exceeds the threshold. */
  active: number;
  maxCoeff: number;
}

export interface LayerView {
  layer: number;
  /** One entry per token. */
  positions: CellView[];
}

export interface PredictionView {
  id: number;
  text: string;
  prob: number;
}

export interface InspectView {
  model: ModelView;
  tokens: TokenView[];
  layers: LayerView[];
  /** Next-token predictions per position (top 5). */
  predictions: PredictionView[][];
  /** The analysed text and where it came from, for the panel's title. */
  source: { label: string; text: string };
  threshold: number;
}

export interface ValueView {
  top: PredictionView[];
  bottom: PredictionView[];
}

export interface TriggerExampleView {
  text: string;
  /** UTF-16 range of the trigger token in text. */
  start: number;
  end: number;
  coeff: number;
}

export interface MemoryDetailsView {
  layer: number;
  key: number;
  value: ValueView;
  /** Empty when no trigger index is loaded. */
  triggers: TriggerExampleView[];
  triggerIndexLoaded: boolean;
}

export type InterventionMode = 'set' | 'scale';

export interface Intervention {
  layer: number;
  key: number;
  mode: InterventionMode;
  value: number;
}

export interface InterventionResultView {
  before: PredictionView[];
  after: PredictionView[];
}

export interface LayerLensView {
  layer: number;
  /** Logit lens of the residual stream entering the FFN. */
  beforeFfn: PredictionView[];
  /** Logit lens of the residual stream after the FFN's output is added. */
  afterFfn: PredictionView[];
}

// ---------- requests (webview → host → response) ----------

/** Method name → params and result. Adding a method here types both ends at once. */
export interface RequestMap {
  memoryDetails: { params: { layer: number; key: number; k: number }; result: MemoryDetailsView };
  intervene: {
    params: { ids: number[]; position: number; interventions: Intervention[]; k: number };
    result: InterventionResultView;
  };
  layerPredictions: { params: { ids: number[]; position: number; k: number }; result: LayerLensView[] };
  /** Decorates the active editor with one memory's activations. */
  highlightKey: { params: { layer: number; key: number }; result: { tokens: number } };
}

export type RequestMethod = keyof RequestMap;

export type RequestMessage = {
  [M in RequestMethod]: { type: 'request'; requestId: number; method: M; params: RequestMap[M]['params'] };
}[RequestMethod];

// ---------- webview → host ----------

export type WebviewMessage =
  | { type: 'ready' }
  /**
   * The heatmap for an analysis of `tokens` tokens is painted, `ms` after its message arrived, at
   * wall-clock `paintedAt` (Date.now(): host and webview share the machine's clock).
   */
  | { type: 'rendered'; tokens: number; ms: number; paintedAt: number }
  | RequestMessage;

// ---------- host → webview ----------

export type EngineState = 'idle' | 'loading' | 'ready' | 'busy' | 'error';

export type HostMessage =
  | { type: 'inspect'; view: InspectView }
  | { type: 'status'; state: EngineState; message: string }
  | { type: 'response'; requestId: number; ok: true; result: RequestMap[RequestMethod]['result'] }
  | { type: 'response'; requestId: number; ok: false; error: string };

// ---------- host-side validation ----------

/** Upper bounds that keep a malformed or hostile message from asking for unbounded work. */
export const LIMITS = { maxIds: 8192, maxInterventions: 64, maxK: 100, maxIndex: 1 << 24, maxValue: 1e4 } as const;

type Rec = Record<string, unknown>;

function isRec(u: unknown): u is Rec {
  return typeof u === 'object' && u !== null && !Array.isArray(u);
}

function isIndex(u: unknown, max: number = LIMITS.maxIndex): u is number {
  return typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= max;
}

function isK(u: unknown): u is number {
  return isIndex(u, LIMITS.maxK) && u >= 1;
}

function isIds(u: unknown): u is number[] {
  return Array.isArray(u) && u.length >= 1 && u.length <= LIMITS.maxIds && u.every((x) => isIndex(x));
}

function isIntervention(u: unknown): u is Intervention {
  return (
    isRec(u) &&
    isIndex(u.layer) &&
    isIndex(u.key) &&
    (u.mode === 'set' || u.mode === 'scale') &&
    typeof u.value === 'number' &&
    Number.isFinite(u.value) &&
    Math.abs(u.value) <= LIMITS.maxValue
  );
}

/** Param validators, one per method; the mapped type makes a missing method a compile error. */
const paramValidators: { [M in RequestMethod]: (p: Rec) => boolean } = {
  memoryDetails: (p) => isIndex(p.layer) && isIndex(p.key) && isK(p.k),
  intervene: (p) =>
    isIds(p.ids) &&
    isIndex(p.position) &&
    (p.position as number) < (p.ids as number[]).length &&
    Array.isArray(p.interventions) &&
    p.interventions.length <= LIMITS.maxInterventions &&
    p.interventions.every(isIntervention) &&
    isK(p.k),
  layerPredictions: (p) =>
    isIds(p.ids) && isIndex(p.position) && (p.position as number) < (p.ids as number[]).length && isK(p.k),
  highlightKey: (p) => isIndex(p.layer) && isIndex(p.key),
};

function isMethod(u: unknown): u is RequestMethod {
  return typeof u === 'string' && Object.prototype.hasOwnProperty.call(paramValidators, u);
}

/** Returns the message typed, or undefined when it does not match the protocol exactly. */
export function parseWebviewMessage(u: unknown): WebviewMessage | undefined {
  if (!isRec(u)) return undefined;
  if (u.type === 'ready') return { type: 'ready' };
  if (u.type === 'rendered') {
    const { ms, paintedAt } = u;
    const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
    if (!isIndex(u.tokens, LIMITS.maxIds) || !isTime(ms) || !isTime(paintedAt)) return undefined;
    return { type: 'rendered', tokens: u.tokens, ms, paintedAt };
  }
  if (u.type !== 'request') return undefined;
  if (!isIndex(u.requestId, Number.MAX_SAFE_INTEGER) || !isMethod(u.method) || !isRec(u.params)) return undefined;
  if (!paramValidators[u.method](u.params)) return undefined;
  return u as unknown as RequestMessage;
}
