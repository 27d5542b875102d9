// Worker-thread entry (bundled to dist/engineWorker.js). It is the only extension file that imports
// the core: it adapts the core's API to the plain-JSON EngineMethods contract, so the rest of the
// extension compiles and runs without knowing the core's types, and the extension host's event
// loop never waits on a forward pass.

import { parentPort } from 'node:worker_threads';
import * as core from '../core/index';
import type { EngineMethod, EngineMethods, EngineReply, EngineRequest, InspectResultView } from './engineProtocol';
import type { LayerLensView, PredictionView } from '../protocol';

type Handler<M extends EngineMethod> = (
  params: EngineMethods[M]['params'],
  id: number,
) => Promise<EngineMethods[M]['result']> | EngineMethods[M]['result'];

let model: core.Model | undefined;

function requireModel(): core.Model {
  if (!model) throw new Error('No model is loaded.');
  return model;
}

function post(reply: EngineReply): void {
  parentPort?.postMessage(reply);
}

// Core objects may carry extra fields (typed arrays, caches); copy only what the contract names so
// structured cloning stays small and the host sees exactly the protocol's shapes.
function preds(list: readonly { id: number; text: string; prob: number }[]): PredictionView[] {
  return list.map((p) => ({ id: p.id, text: p.text, prob: p.prob }));
}

const handlers: { [M in EngineMethod]: Handler<M> } = {
  async load(params, id) {
    model?.dispose();
    model = undefined;
    model = await core.loadModel(params.spec, {
      cacheDir: params.cacheDir,
      threads: params.threads,
      onProgress: (p) => post({ kind: 'progress', id, progress: { stage: p.stage, fraction: p.fraction, message: p.message } }),
    });
    return { ...model.info };
  },
  tokenize(params) {
    return requireModel()
      .tokenizer.encodeWithOffsets(params.text)
      .map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end }));
  },
  async inspect(params): Promise<InspectResultView> {
    const r = await core.inspect(requireModel(), params.text, { topK: params.topK, threshold: params.threshold });
    return {
      model: { ...r.model },
      tokens: r.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end })),
      layers: r.layers.map((l) => ({
        layer: l.layer,
        positions: l.positions.map((c) => ({
          top: c.top.map((m) => ({ key: m.key, coeff: m.coeff })),
          active: c.active,
          maxCoeff: c.maxCoeff,
        })),
      })),
      predictions: r.predictions.map(preds),
    };
  },
  decodeValues(params) {
    const m = requireModel();
    return params.items.map(({ layer, key }) => {
      const v = core.decodeValue(m, layer, key, params.k);
      return { top: preds(v.top), bottom: preds(v.bottom) };
    });
  },
  async intervene(params) {
    const r = await core.predictWithInterventions(requireModel(), params.ids, params.position, params.interventions, params.k);
    return { before: preds(r.before), after: preds(r.after) };
  },
  async layerPredictions(params): Promise<LayerLensView[]> {
    const r = await core.layerPredictions(requireModel(), params.ids, params.position, params.k);
    return r.map((l) => ({ layer: l.layer, beforeFfn: preds(l.beforeFfn), afterFfn: preds(l.afterFfn) }));
  },
  unload() {
    model?.dispose();
    model = undefined;
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
