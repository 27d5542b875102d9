/**
 * The shape of tokenizer.json that @huggingface/tokenizers relies on without checking:
 * checked before the file is handed over, so a damaged file is an error that names the
 * file and the field, not "x is not iterable" from inside the library.
 */

/** The component lists a "Sequence" of each kind holds. */
const SEQUENCE_FIELD: Record<string, string> = { normalizer: 'normalizers', pre_tokenizer: 'pretokenizers', post_processor: 'processors', decoder: 'decoders' };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkTokenizerJson(json: Record<string, unknown>, file: string): void {
  const fail = (why: string): never => {
    throw new Error(`${file} is not a usable tokenizer.json: ${why}`);
  };
  const model = json.model;
  if (!isObject(model)) fail('"model" must be an object');
  const m = model as Record<string, unknown>;
  if (m.type !== undefined && typeof m.type !== 'string') fail('"model.type" must be a string');
  if (!isObject(m.vocab) && !Array.isArray(m.vocab)) fail('"model.vocab" must be an object or a list');
  if (m.merges !== undefined && !Array.isArray(m.merges)) fail('"model.merges" must be a list');
  // always written (possibly empty), and iterated without a check by the library
  const added = json.added_tokens;
  if (!Array.isArray(added)) fail('"added_tokens" must be a list');
  (added as unknown[]).forEach((t, i) => {
    if (!isObject(t) || !Number.isSafeInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string') fail(`"added_tokens"[${i}] must be {"id": a non-negative integer, "content": a string, …}`);
  });
  const component = (kind: string, v: unknown, where: string): void => {
    if (v === undefined || v === null) return;
    if (!isObject(v) || typeof v.type !== 'string') fail(`"${where}" must be null or an object with a string "type"`);
    const o = v as Record<string, unknown>;
    if (o.type === 'Sequence') {
      const list = o[SEQUENCE_FIELD[kind]];
      if (!Array.isArray(list)) fail(`"${where}.${SEQUENCE_FIELD[kind]}" must be a list`);
      (list as unknown[]).forEach((c, i) => component(kind, c, `${where}.${SEQUENCE_FIELD[kind]}[${i}]`));
    }
  };
  for (const kind of Object.keys(SEQUENCE_FIELD)) component(kind, json[kind], kind);
}
