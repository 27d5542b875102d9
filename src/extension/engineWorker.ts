// Worker-thread entry (bundled to dist/engineWorker.js). It and its helpers in ./worker are the
// only extension files that import the core: they adapt the core's API to the plain-JSON
// EngineMethods contract, so the rest of the extension compiles and runs without knowing the
// core's types, and the extension host's event loop never waits on a forward pass.

import { parentPort } from 'node:worker_threads';
import * as core from '../core/index';
import type { EngineMessage, EngineMethod, EngineMethods, EngineProgress, EngineReply, EngineRequest, InspectResultView } from './engineProtocol';
import type { LayerLensView, ModelView, PredictionView } from '../protocol';
import { attributeAt } from './worker/attribution';
import { keyLabels } from './worker/labels';
import { paperReport } from './worker/report';
import { buildIndex, discardCheckpoint, folderState, IndexCache, memoryTriggers, summaryOf } from './worker/triggerIndex';

/** What a handler gets besides its params: cancellation and (throttled) progress. */
interface Job {
  id: number;
  signal: AbortSignal;
  progress(p: EngineProgress): void;
}

type Handler<M extends EngineMethod> = (
  params: EngineMethods[M]['params'],
  job: Job,
) => Promise<EngineMethods[M]['result']> | EngineMethods[M]['result'];

/**
 * Progress messages at most this often: a trigger-index build reports after every pool and the
 * statistics per layer; the host only needs enough to keep a notification moving.
 */
const PROGRESS_EVERY_MS = 200;

let model: core.Model | undefined;
let cacheDir: string | undefined;
/** Inverted value tables per final-norm choice, built on first search. */
const searches = new Map<boolean, Promise<core.MemorySearch>>();
const indexes = new IndexCache();
/** Running requests, by id: their canceller and a promise that settles when they have finished. */
const running = new Map<number, { method: EngineMethod; controller: AbortController; finished: Promise<void> }>();

/** The protocol's model facts: the core's info has more (hash, source) that the UI does not use. */
function modelView(i: core.ModelInfo): ModelView {
  return { name: i.name, family: i.family, nLayers: i.nLayers, dModel: i.dModel, dFf: i.dFf, vocabSize: i.vocabSize, contextSize: i.contextSize, hash: i.hash };
}

/** Frees the model; `keep`: the request doing it (a load), which must not cancel itself. */
async function unload(keep?: number): Promise<void> {
  const m = model;
  model = undefined;
  searches.clear();
  indexes.clear();
  // Long jobs (an index build, the statistics) hold the model: ask them to stop and wait until
  // they have (at their next safe point), so no forward pass runs on a disposed session.
  // (Other loads are not waited for: each would wait for the other.)
  const others = [...running].filter(([id, r]) => id !== keep && r.method !== 'load' && r.method !== 'unload').map(([, r]) => r);
  for (const r of others) r.controller.abort();
  await Promise.all(others.map((r) => r.finished));
  await m?.dispose();
}

function requireModel(): core.Model {
  if (!model) throw new Error('No model is loaded.');
  return model;
}

function post(reply: EngineReply): void {
  parentPort?.postMessage(reply);
}

/**
 * Coefficients to 4 decimals: the panel shows 3, and full float64 digits would make the heatmap's
 * message (layers × tokens × top-k) about twice as large to clone and to post to the webview.
 */
function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

// Core objects may carry extra fields (typed arrays, caches); copy only what the contract names so
// structured cloning stays small and the host sees exactly the protocol's shapes.
function preds(list: readonly { id: number; text: string; prob: number }[]): PredictionView[] {
  return list.map((p) => ({ id: p.id, text: p.text, prob: p.prob }));
}

const handlers: { [M in EngineMethod]: Handler<M> } = {
  async load(params, job) {
    await unload(job.id);
    cacheDir = params.cacheDir;
    model = await core.loadModel(params.spec, {
      cacheDir: params.cacheDir,
      threads: params.threads,
      memoryCheck: params.memoryCheck,
      precision: params.precision,
      onProgress: (p) => job.progress({ stage: p.stage, fraction: p.fraction, message: core.loadProgressText(p) }),
    });
    // Warm up once here, while the status bar says "loading": the first analysis and the first
    // value decoding otherwise pay for onnxruntime's first run and the vocabulary projector.
    job.progress({ stage: 'warmup', message: 'warming up' });
    await core.inspect(model, 'Hello world', { topK: 1 });
    await core.decodeValue(model, 0, 0, 1);
    return modelView(model.info);
  },
  tokenize(params) {
    return requireModel()
      .tokenizer.encodeWithOffsets(params.text)
      .map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end }));
  },
  async inspect(params): Promise<InspectResultView> {
    const r = await core.inspect(requireModel(), params.text, { topK: params.topK, threshold: params.threshold });
    return {
      model: modelView(r.model),
      tokens: r.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end })),
      layers: r.layers.map((l) => ({
        layer: l.layer,
        positions: l.positions.map((c) => ({
          keys: c.top.map((m) => m.key),
          coeffs: c.top.map((m) => round4(m.coeff)),
          active: c.active,
          maxCoeff: round4(c.maxCoeff),
        })),
      })),
      predictions: r.predictions.map(preds),
    };
  },
  async decodeValues(params) {
    const m = requireModel();
    const out = [];
    for (const { layer, key } of params.items) {
      const v = await core.decodeValue(m, layer, key, params.k, { finalNorm: params.finalNorm });
      out.push({ top: preds(v.top), bottom: preds(v.bottom) });
    }
    return out;
  },
  async intervene(params) {
    const r = await core.predictWithInterventions(requireModel(), params.ids, params.position, params.interventions, params.k);
    return { before: preds(r.before), after: preds(r.after) };
  },
  async layerPredictions(params): Promise<LayerLensView[]> {
    const r = await core.layerPredictions(requireModel(), params.ids, params.position, params.k, params.interventions);
    return r.map((l) => ({ layer: l.layer, beforeFfn: preds(l.beforeFfn), afterFfn: preds(l.afterFfn) }));
  },
  async keyActivations(params) {
    const m = requireModel();
    const { nLayers, dFf, contextSize } = m.info;
    if (params.layer >= nLayers || params.key >= dFf) throw new Error(`L${params.layer}:${params.key} is outside the model (${nLayers} layers × ${dFf})`);
    const tokens = m.tokenizer.encodeWithOffsets(params.text).map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end }));
    const hook = core.hookName(params.layer, 'mlp.coeff');
    const coeffs: number[] = [];
    // Windows of the context size: each starts fresh, which is what the model would see anyway.
    for (let s = 0; s < tokens.length; s += contextSize) {
      const ids = tokens.slice(s, s + contextSize).map((t) => t.id);
      const t = (await m.run([ids], [hook])).get(hook);
      if (!t) throw new Error(`the engine returned no ${hook}`);
      for (let i = 0; i < ids.length; i++) coeffs.push(t.data[i * dFf + params.key]);
    }
    return { tokens, coeffs, gated: m.config.gated };
  },
  async searchWord(params, job) {
    const m = requireModel();
    let search = searches.get(params.finalNorm);
    if (!search) {
      search = core
        .valueTable(m, {
          finalNorm: params.finalNorm,
          cacheDir,
          onProgress: (p) => job.progress({ stage: 'values', fraction: p.done / p.total, message: `decoding value vectors (vocabulary part ${p.part + 1}/${p.parts}, layer ${p.layer})` }),
        })
        .then((table) => core.MemorySearch.build(table));
      searches.set(params.finalNorm, search);
      search.catch(() => searches.delete(params.finalNorm));
    }
    const r = core.searchWord(await search, m.tokenizer, params.word, { side: params.side, limit: params.limit });
    return {
      tokens: r.tokens.map((t) => ({ id: t.id, text: t.text })),
      hits: r.hits.map((h) => ({ layer: h.layer, key: h.key, tokenId: h.tokenId, prob: h.prob, rank: h.rank })),
    };
  },
  indexFolderState: (params) => folderState(requireModel(), params.dir),
  discardCheckpoint(params) {
    discardCheckpoint(params.dir);
    return null;
  },
  buildTriggerIndex: (params, job) => buildIndex(requireModel(), indexes, params, job),
  openTriggerIndex: (params) => summaryOf(indexes.get(requireModel(), params.dir)),
  memoryTriggers(params) {
    const m = requireModel();
    return memoryTriggers(m, indexes.get(m, params.dir), params.layer, params.key);
  },
  labels: (params) => keyLabels(requireModel(), params),
  paperReport(params, job) {
    const m = requireModel();
    return paperReport(m, indexes.get(m, params.dir), params, cacheDir, job);
  },
  attribute: (params) => attributeAt(requireModel(), params),
  async unload() {
    await unload();
    return null;
  },
  async compare(params) {
    const r = await core.compareTexts(requireModel(), params.a, params.b, { memories: params.memories, finalNorm: params.finalNorm });
    return { html: core.renderCompare(r), model: r.model.name };
  },
  async inspectPage(params) {
    const html = await core.renderInspectPage(requireModel(), params.text, {
      topK: params.topK,
      threshold: params.threshold,
      selected: params.place.selected,
      memory: params.place.memory,
      interventions: params.place.interventions,
      finalNorm: params.finalNorm,
      label: params.label,
    });
    return { html };
  },
};

/** Progress for request id: the first message at once, then at most one per PROGRESS_EVERY_MS. */
function progressFor(id: number): (p: EngineProgress) => void {
  let last = -Infinity;
  return (progress) => {
    const now = performance.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    post({ kind: 'progress', id, progress });
  };
}

async function handle(req: EngineRequest): Promise<void> {
  const controller = new AbortController();
  let finish = (): void => undefined;
  running.set(req.id, { method: req.method, controller, finished: new Promise<void>((resolve) => (finish = resolve)) });
  try {
    // The mapped handler table guarantees params match the method; TypeScript cannot correlate
    // the two through a union, hence the one cast at dispatch.
    const handler = handlers[req.method] as Handler<EngineMethod>;
    const result = await handler(req.params, { id: req.id, signal: controller.signal, progress: progressFor(req.id) });
    post({ kind: 'response', id: req.id, ok: true, result });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    // A cancelled job's error (the core's TriggerIndexAborted names its checkpoint) is expected.
    const insufficientMemory = err instanceof core.InsufficientMemoryError;
    post({ kind: 'response', id: req.id, ok: false, error, ...(controller.signal.aborted ? { aborted: true } : {}), ...(insufficientMemory ? { insufficientMemory } : {}) });
  } finally {
    running.delete(req.id);
    finish();
  }
}

parentPort?.on('message', (msg: EngineMessage) => {
  if (msg.kind === 'cancel') running.get(msg.id)?.controller.abort();
  else void handle(msg);
});
