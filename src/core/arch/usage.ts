/**
 * Every checkpoint tensor must be used: a tensor the converter never read means the
 * config describes a different model (n_layer 4 on an 8-layer checkpoint, a q/k norm or
 * bias the family does not know), which would otherwise run silently wrong.
 */
import type { WeightStore } from '../load/weights';
import type { HostTensor } from '../tensor';

/**
 * Tensors a checkpoint may carry without changing the forward pass: causal-mask buffers
 * (GPT-2's attn.bias / masked_bias, GPT-Neo's attn.attention.bias) and cached rotary
 * inverse frequencies, which FFN Lens recomputes from the config.
 */
const HARMLESS_TENSORS = [/(^|\.)attn\.(bias|masked_bias)$/, /\.attention\.(bias|masked_bias)$/, /(^|\.)rotary_emb\.inv_freq$/];

export interface TrackedWeights {
  store: WeightStore;
  /** Names never read, less the harmless ones. */
  unused(): string[];
}

export function trackWeights(w: WeightStore): TrackedWeights {
  const seen = new Map<string, HostTensor>();
  const store: WeightStore = {
    names: () => w.names(),
    has: (name) => w.has(name),
    get: (name) => {
      const t = w.get(name);
      seen.set(name, t);
      return t;
    },
  };
  return {
    store,
    unused: () => w.names().filter((n) => !seen.has(n) && !HARMLESS_TENSORS.some((re) => re.test(n))),
  };
}

const sameValues = (a: HostTensor, b: HostTensor) => a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);

/**
 * Throws, naming them, when tensors went unused. A tied output head stored a second time
 * (lm_head.weight equal to the embedding) is allowed; a different one is not, since the
 * config says the head is tied and that head would be ignored.
 */
export function checkAllUsed(t: TrackedWeights, w: WeightStore, embed: HostTensor): void {
  const unused = t.unused().filter((n) => !(/(^|\.)lm_head\.weight$/.test(n) && sameValues(w.get(n), embed)));
  if (unused.length === 0) return;
  const shown = unused.slice(0, 8).join(', ') + (unused.length > 8 ? `, … (${unused.length} in all)` : '');
  throw new Error(`checkpoint does not match config.json: ${unused.length} tensor(s) would be ignored: ${shown}. The config describes a different model (check num_hidden_layers / n_layer and the architecture).`);
}
