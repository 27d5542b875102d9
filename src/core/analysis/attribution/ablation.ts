/**
 * Attribution checked by intervention: switch a memory off at the position (its
 * coefficient set to 0 there, through the graph's patch inputs) and compare the actual
 * change of the target's logit with the predicted one, −score. In the last layer the
 * only approximation is the final norm's frozen scale, so the two agree closely; in
 * earlier layers later layers react too, and the gap measures that indirect effect.
 */
import type { Model } from '../../model';
import type { Attribution, MemoryScore } from './attribute';
import { LOGITS } from '../../hooks';
import { rowOf, type PositionTrace } from './trace';

export interface AblationCheck {
  layer: number;
  key: number;
  /** −score: the logit change attribution predicts when the memory is switched off. */
  predicted: number;
  /** The logit change the model shows. */
  actual: number;
}

export async function checkByAblation(model: Model, trace: PositionTrace, attribution: Attribution, memories: readonly MemoryScore[]): Promise<AblationCheck[]> {
  const target = attribution.target.id;
  const contrast = attribution.contrast?.id;
  const logitOf = (logits: Float32Array) => logits[target] - (contrast === undefined ? 0 : logits[contrast]);
  const checks: AblationCheck[] = [];
  for (const m of memories) {
    const out = await model.run([trace.ids], [LOGITS], [{ layer: m.layer, key: m.key, mode: 'set', value: 0, positions: [trace.position] }]);
    checks.push({ layer: m.layer, key: m.key, predicted: -m.score, actual: logitOf(rowOf(out.get(LOGITS)!, trace.position)) - attribution.logit });
  }
  return checks;
}
