// Worker-thread entry (bundled to dist/engineWorker.js). It is the only extension file that imports
// the core: it adapts the core's API to the plain-JSON EngineMethods contract, so the rest of the
// extension compiles and runs without knowing the core's types, and the extension host's event
// loop never waits on a forward pass.

import { parentPort } from 'node:worker_threads';
import * as core from '../core/index';
import type { EngineMethod, EngineMethods, EngineReply, EngineRequest, InspectResultView } from './engineProtocol';
import type { LayerLensView, ModelView, PredictionView } from '../protocol';

type Handler<M extends EngineMethod> = (
  params: EngineMethods[M]['params'],
  id: number,
) => Promise<EngineMethods[M]['result']> | EngineMethods[M]['result'];

let model: core.Model | undefined;
let cacheDir: string | undefined;
/** Inverted value tables per final-norm choice, built on first search. */
const searches = new Map<boolean, Promise<core.MemorySearch>>();

/** The protocol's model facts: the core's info has more (hash, source) that the UI does not use. */
function modelView(i: core.ModelInfo): ModelView {
  return { name: i.name, family: i.family, nLayers: i.nLayers, dModel: i.dModel, dFf: i.dFf, vocabSize: i.vocabSize, contextSize: i.contextSize };
}

async function unload(): Promise<void> {
  const m = model;
  model = undefined;
  searches.clear();
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
  async load(params, id) {
    await unload();
    cacheDir = params.cacheDir;
    model = await core.loadModel(params.spec, {
      cacheDir: params.cacheDir,
      threads: params.threads,
      onProgress: (p) => post({ kind: 'progress', id, progress: { stage: p.stage, fraction: p.fraction, message: p.message } }),
    });
    // Warm up once here, while the status bar says "loading": the first analysis and the first
    // value decoding otherwise pay for onnxruntime's first run and the vocabulary projector.
    post({ kind: 'progress', id, progress: { stage: 'warmup', message: 'warming up' } });
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
    const r = await core.layerPredictions(requireModel(), params.ids, params.position, params.k);
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
    return { tokens, coeffs };
  },
  async searchWord(params, id) {
    const m = requireModel();
    let search = searches.get(params.finalNorm);
    if (!search) {
      search = core
        .valueTable(m, {
          finalNorm: params.finalNorm,
          cacheDir,
          onProgress: (p) =>
            post({ kind: 'progress', id, progress: { stage: 'values', fraction: p.done / p.total, message: `decoding value vectors (layer ${p.layer})` } }),
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
  async unload() {
    await unload();
    return null;
  },
};

async function handle(req: EngineRequest): Promise<void> {
  try {
    // The mapped handler table guarantees params match the method; TypeScript cannot correlate
    // the two through a union, hence the one cast at dispatch.
    const handler = handlers[req.method] as Handler<EngineMethod>;
    const result = await handler(req.params, req.id);
    post({ kind: 'response', id: req.id, ok: true, result });
  } catch (err) {
    post({ kind: 'response', id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}

parentPort?.on('message', (msg: EngineRequest) => void handle(msg));
