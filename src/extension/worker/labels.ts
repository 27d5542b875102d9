// Worker side of human labels: the core reads and writes the workspace's labels file (validated,
// atomic, tied to the model's hash so labels never land on another model's keys).

import * as core from '../../core/index';
import type { EngineMethods } from '../engineProtocol';
import type { LabelView } from '../../protocol';

export function keyLabels(model: core.Model, params: EngineMethods['labels']['params']): LabelView[] {
  const { nLayers, dFf, hash } = model.info;
  const { file, layer, key, edit } = params;
  if (layer >= nLayers || key >= dFf) throw new Error(`L${layer}:${key} is outside ${model.info.name} (${nLayers} layers × ${dFf} memories)`);
  let all: core.KeyLabel[];
  if (!edit) all = core.readLabels(file, hash);
  else if (edit.op === 'add') all = core.addLabel(file, { layer, key, text: edit.text, kind: edit.kind }, hash);
  else all = core.removeLabel(file, layer, key, edit.text, hash);
  return core.labelsFor(all, layer, key).map((l) => ({ text: l.text, kind: l.kind }));
}
