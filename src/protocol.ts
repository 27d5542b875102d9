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
  /** Content hash of the checkpoint (sessions record it to tell a changed model). */
  hash?: string;
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

/** One trigger example of a memory: a corpus window's text up to the token where the key fired. */
export interface TriggerExampleView {
  /** The window's text up to and including the trigger token. */
  text: string;
  /** UTF-16 range of the trigger token in text. */
  start: number;
  end: number;
  /** The corpus token after the trigger (null at a paragraph's end). */
  next: { id: number; text: string } | null;
  coeff: number;
  /** Where it is in the index: paragraph, window within it, position within the window. */
  paragraph: number;
  window: number;
  position: number;
}

export type LabelKind = 'shallow' | 'semantic';

export interface PatternView {
  /** shallow / semantic: about the prefix; output: a hint about what follows it. */
  kind: LabelKind | 'output';
  type: string;
  label: string;
  /** Indices of the covered triggers in the key's list (best first). */
  covers: number[];
}

/** A key's automatic patterns (src/core/analysis/patterns.ts) with their coverage of its top triggers. */
export interface PatternsView {
  /** Triggers considered (the top 25, fewer on a small corpus). */
  triggers: number;
  covered: number;
  coveredShallow: number;
  coveredSemantic: number;
  /** Covered by an output hint (next token, value agreement); not part of `covered`. */
  coveredOutput: number;
  patterns: PatternView[];
}

export interface LabelView {
  text: string;
  kind: LabelKind;
}

/** The facts about a trigger index that the UI shows. */
export interface TriggerIndexSummary {
  dir: string;
  model: string;
  /** Corpus files, absolute paths as indexed. */
  corpus: string[];
  paragraphs: number;
  tokens: number;
  top: number;
  window: number;
  /** The index keeps negative triggers too (a gated model's signed index). */
  signed: boolean;
}

export type TriggerIndexState =
  | { state: 'none' }
  | { state: 'loaded'; summary: TriggerIndexSummary }
  /** Configured but unusable: not built yet, unfinished, or built with another model. */
  | { state: 'error'; dir: string; message: string };

export interface MemoryDetailsView {
  layer: number;
  key: number;
  value: ValueView;
}

/**
 * A gated memory's negative triggers (m < 0, most negative first), where it adds −|m|·v
 * and so promotes its value's bottom tokens, listed in `promotes`.
 */
export interface NegativeTriggersView {
  triggers: TriggerExampleView[];
  promotes: { id: number; text: string }[];
}

/**
 * The negative side of a memory's triggers: the list (a signed index of a gated model),
 * `absent` with the reason (an unsigned index of a gated model: not kept, which is not
 * the same as none), or null (an ungated model, whose coefficients are (almost) never negative).
 */
export type NegativeTriggers = NegativeTriggersView | { absent: string } | null;

/** What the trigger index and the labels file say about one memory. */
export interface MemoryTriggersView {
  layer: number;
  key: number;
  index: TriggerIndexState;
  /** Every trigger the index kept, best first (empty unless the index is loaded); of a signed index, those with m > 0. */
  triggers: TriggerExampleView[];
  /** A gated memory's negative triggers (null unless the index is loaded and the model gated). */
  negative: NegativeTriggers;
  patterns: PatternsView | null;
  labels: LabelView[];
  /** Why labels cannot be shown or saved (no workspace folder, a broken labels file). */
  labelsError?: string;
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

/** A token by its id, or typed as text (which must be exactly one token of the vocabulary). */
export type TokenChoice = { id: number } | { text: string };

/** A part of the residual stream and its direct contribution to the target's logit. */
export interface AttributionComponentView {
  name: string;
  kind: 'embed' | 'pos' | 'attn' | 'mlp' | 'bias';
  /** null for the embeddings and the constant. */
  layer: number | null;
  score: number;
}

export interface AttributedMemoryView {
  layer: number;
  key: number;
  coeff: number;
  /** Its direct contribution to the target's logit (minus the contrast's). */
  score: number;
}

/** "Why this token?": direct logit attribution at one position (src/core/analysis/attribution). */
export interface AttributionView {
  position: number;
  target: { id: number; text: string };
  contrast: { id: number; text: string } | null;
  /** The logit of the target (minus the contrast's); the components sum to it. */
  logit: number;
  /** What the logit is when not the model's output as is (Gemma 2: before soft-capping). */
  note: string | null;
  components: AttributionComponentView[];
  /** The memories that most raise / lower the logit, strongest first. */
  support: AttributedMemoryView[];
  oppose: AttributedMemoryView[];
}

// ---------- requests (webview → host → response) ----------

/** Method name → params and result. Adding a method here types both ends at once. */
export interface RequestMap {
  memoryDetails: { params: { layer: number; key: number; k: number }; result: MemoryDetailsView };
  intervene: {
    params: { ids: number[]; position: number; interventions: Intervention[]; k: number };
    result: InterventionResultView;
  };
  /** The logit lens at a position, with the panel's interventions applied. */
  layerPredictions: { params: { ids: number[]; position: number; k: number; interventions: Intervention[] }; result: LayerLensView[] };
  memoryTriggers: { params: { layer: number; key: number }; result: MemoryTriggersView };
  /** Adds a human label to a key in the workspace's labels file; returns the key's labels. */
  addLabel: { params: { layer: number; key: number; text: string; kind: LabelKind }; result: LabelView[] };
  removeLabel: { params: { layer: number; key: number; text: string }; result: LabelView[] };
  /** Decorates the active editor with one memory's activations. */
  highlightKey: { params: { layer: number; key: number }; result: { tokens: number } };
  /** Why the model predicts `target` (default its top prediction) at a position, optionally against `contrast`. */
  attribute: { params: AttributeParams; result: AttributionView };
}

export interface AttributeParams {
  ids: number[];
  position: number;
  target: TokenChoice | null;
  contrast: TokenChoice | null;
  /** Memories listed on each side. */
  k: number;
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
  /** The user's place in the panel, sent on every change (Save Session records it). */
  | PanelPlaceMessage
  | RequestMessage;

/** The selected cell and memory and the interventions: what a session restores besides the text. */
export interface PanelPlace {
  selected?: { layer: number; position: number };
  /** The selected memory, shown with its details open; there is one only with a selected cell. */
  memory?: MemoryRef;
  interventions: Intervention[];
}

/** One memory: key `key` of the FFN at layer `layer`. */
export interface MemoryRef {
  layer: number;
  key: number;
}

export type PanelPlaceMessage = { type: 'place' } & PanelPlace;

// ---------- host → webview ----------

export type EngineState = 'idle' | 'loading' | 'ready' | 'busy' | 'error';

export type HostMessage =
  /** restore: the place to open at (a reopened session); otherwise no cell is selected. */
  | { type: 'inspect'; view: InspectView; restore?: PanelPlace }
  | { type: 'status'; state: EngineState; message: string }
  /** The trigger index was built, set or changed: trigger examples must be asked for again. */
  | { type: 'triggerIndex'; state: TriggerIndexState }
  | { type: 'response'; requestId: number; ok: true; result: RequestMap[RequestMethod]['result'] }
  | { type: 'response'; requestId: number; ok: false; error: string };

// ---------- host-side validation ----------

/** Upper bounds that keep a malformed or hostile message from asking for unbounded work. */
export const LIMITS = { maxIds: 8192, maxInterventions: 64, maxK: 100, maxIndex: 1 << 24, maxValue: 1e4, maxLabel: 200, maxTokenText: 100 } as const;

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

/** A label's text: one line of visible text (it is stored in a JSON file and shown in lists). */
function isLabelText(u: unknown): u is string {
  return typeof u === 'string' && u.trim().length >= 1 && u.length <= LIMITS.maxLabel && !/[\u0000-\u001f\u007f]/.test(u);
}

function isInterventions(u: unknown): u is Intervention[] {
  return Array.isArray(u) && u.length <= LIMITS.maxInterventions && u.every(isIntervention);
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

function isTokenChoice(u: unknown): u is TokenChoice | null {
  if (u === null) return true;
  if (!isRec(u)) return false;
  const keys = Object.keys(u);
  if (keys.length !== 1) return false;
  if (keys[0] === 'id') return isIndex(u.id);
  return keys[0] === 'text' && typeof u.text === 'string' && u.text.length >= 1 && u.text.length <= LIMITS.maxTokenText;
}

/** Param validators, one per method; the mapped type makes a missing method a compile error. */
const paramValidators: { [M in RequestMethod]: (p: Rec) => boolean } = {
  memoryDetails: (p) => isIndex(p.layer) && isIndex(p.key) && isK(p.k),
  intervene: (p) =>
    isIds(p.ids) &&
    isIndex(p.position) &&
    (p.position as number) < (p.ids as number[]).length &&
    isInterventions(p.interventions) &&
    isK(p.k),
  layerPredictions: (p) =>
    isIds(p.ids) && isIndex(p.position) && (p.position as number) < (p.ids as number[]).length && isK(p.k) && isInterventions(p.interventions),
  memoryTriggers: (p) => isIndex(p.layer) && isIndex(p.key),
  addLabel: (p) => isIndex(p.layer) && isIndex(p.key) && isLabelText(p.text) && (p.kind === 'shallow' || p.kind === 'semantic'),
  removeLabel: (p) => isIndex(p.layer) && isIndex(p.key) && isLabelText(p.text),
  highlightKey: (p) => isIndex(p.layer) && isIndex(p.key),
  attribute: (p) => isIds(p.ids) && isIndex(p.position) && (p.position as number) < (p.ids as number[]).length && isTokenChoice(p.target) && isTokenChoice(p.contrast) && isK(p.k),
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
  if (u.type === 'place') {
    const place = parsePanelPlace(u);
    return place && { type: 'place', ...place };
  }
  if (u.type !== 'request') return undefined;
  if (!isIndex(u.requestId, Number.MAX_SAFE_INTEGER) || !isMethod(u.method) || !isRec(u.params)) return undefined;
  if (!paramValidators[u.method](u.params)) return undefined;
  return u as unknown as RequestMessage;
}

/** A PanelPlace from untrusted input (a webview message, a session file), or undefined. */
export function parsePanelPlace(u: unknown): PanelPlace | undefined {
  if (!isRec(u) || !isInterventions(u.interventions)) return undefined;
  // rebuilt field by field: the input may carry anything else
  const interventions = u.interventions.map((i) => ({ layer: i.layer, key: i.key, mode: i.mode, value: i.value }));
  const sel = u.selected;
  // a memory is selected among a cell's, so a place with a memory and no cell is malformed
  if (sel === undefined) return u.memory === undefined ? { interventions } : undefined;
  if (!isRec(sel) || !isIndex(sel.layer) || !isIndex(sel.position, LIMITS.maxIds)) return undefined;
  const selected = { layer: sel.layer, position: sel.position };
  const mem = u.memory;
  if (mem === undefined) return { selected, interventions };
  if (!isRec(mem) || !isIndex(mem.layer) || !isIndex(mem.key)) return undefined;
  return { selected, memory: { layer: mem.layer, key: mem.key }, interventions };
}
