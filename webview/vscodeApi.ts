// The webview's side of the host channel: typed requests with a requestId that resolve when the
// host answers, and typed access to the state VS Code keeps while the panel is hidden.

import type { HostMessage, Intervention, InspectView, MemoryRef, PanelPlace, RequestMap, RequestMethod } from '../src/protocol';

/** What survives hiding the panel and reloading the window. */
export interface PanelState {
  view?: InspectView;
  selected?: { layer: number; position: number };
  /** The selected memory (Save Session records it); cleared when another token is opened. */
  memory?: MemoryRef;
  interventions: Intervention[];
  metric: 'maxCoeff' | 'active';
  /** What "Why ‹token›?" was last asked: target and contrast as typed ('' for the prediction / none). */
  attribution?: { target: string; contrast: string };
}

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

const api = acquireVsCodeApi();
let nextId = 1;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

export function request<M extends RequestMethod>(method: M, params: RequestMap[M]['params']): Promise<RequestMap[M]['result']> {
  const requestId = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(requestId, { resolve: resolve as (v: unknown) => void, reject });
    api.postMessage({ type: 'request', requestId, method, params });
  });
}

/** Resolves a pending request; returns false for messages that are not responses. */
export function settle(msg: HostMessage): boolean {
  if (msg.type !== 'response') return false;
  const p = pending.get(msg.requestId);
  if (!p) return true;
  pending.delete(msg.requestId);
  if (msg.ok) p.resolve(msg.result);
  else p.reject(new Error(msg.error));
  return true;
}

export function ready(): void {
  api.postMessage({ type: 'ready' });
}

export function rendered(tokens: number, ms: number): void {
  api.postMessage({ type: 'rendered', tokens, ms, paintedAt: Date.now() });
}

/** Tells the host the user's place (Save Session records it). */
export function place(s: PanelState): void {
  const p: PanelPlace = { selected: s.selected, memory: s.memory, interventions: s.interventions };
  api.postMessage({ type: 'place', ...p });
}

export function loadState(): PanelState {
  const s = api.getState() as Partial<PanelState> | undefined;
  return { interventions: [], metric: 'maxCoeff', ...(s ?? {}) };
}

export function saveState(s: PanelState): void {
  api.setState(s);
}
