/** Targets and contrasts given as text: exactly one token of the model's vocabulary. */
import type { Model } from '../../model';
import { AttributionError } from './errors';

export function singleTokenId(model: Model, text: string, what = 'token'): number {
  const ids = model.tokenizer.encode(text);
  if (ids.length === 1) return ids[0];
  const parts = ids.map((id) => JSON.stringify(model.tokenizer.tokenText(id))).join(', ');
  throw new AttributionError(
    ids.length === 0
      ? `the ${what} ${JSON.stringify(text)} is no token`
      : `the ${what} ${JSON.stringify(text)} is ${ids.length} tokens (${parts}); give one token (mind a leading space) or its id`,
  );
}
