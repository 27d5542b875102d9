// The `.ffnlens.json` session file: a finding to reopen or send to a colleague. It records the
// model (the spec to load it by, its name and content hash), the text, the analysis settings, the
// selected cell and memory (`place.memory`, absent in files from before it existed) and the
// interventions, and the trigger index in use. A session file is untrusted
// input (it may come from anyone): parseSession checks every field and bounds every size, and
// nothing in it is run; the extension asks before loading a model or index it names.

import { parsePanelPlace, type PanelPlace } from '../protocol';

export const SESSION_FORMAT = 'ffn-lens-session';
export const SESSION_VERSION = 1;
/** Larger files are refused before they are parsed. */
export const MAX_SESSION_BYTES = 4 * 1024 * 1024;
const MAX_TEXT = 1024 * 1024;
const MAX_PATH = 4096;

export interface Session {
  format: typeof SESSION_FORMAT;
  version: typeof SESSION_VERSION;
  model: { spec: string; name: string; hash: string };
  text: string;
  topK: number;
  threshold: number;
  place: PanelPlace;
  /** The trigger index folder in use when it was saved; null for none. */
  triggerIndex: string | null;
  savedAt: string;
}

export class SessionFileError extends Error {}

export function serializeSession(s: Session): string {
  return JSON.stringify(s, null, 2) + '\n';
}

/** The session in `json`, or a SessionFileError that says what is wrong with it. */
export function parseSession(json: string): Session {
  if (json.length > MAX_SESSION_BYTES) throw new SessionFileError(`the file is over ${MAX_SESSION_BYTES / 1024 / 1024} MB; a session is far smaller`);
  let u: unknown;
  try {
    u = JSON.parse(json);
  } catch (e) {
    throw new SessionFileError(`it is not JSON (${(e as Error).message})`);
  }
  const rec = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!rec(u) || u.format !== SESSION_FORMAT) throw new SessionFileError(`it is not an FFN Lens session (no "format": "${SESSION_FORMAT}")`);
  if (u.version !== SESSION_VERSION) throw new SessionFileError(`session version ${JSON.stringify(u.version)} is not supported (this FFN Lens reads version ${SESSION_VERSION})`);
  const str = (x: unknown, max: number, what: string, empty = false): string => {
    if (typeof x !== 'string' || x.length > max || (!empty && x.trim() === '') || /\u0000/.test(x)) throw new SessionFileError(`${what} is missing or invalid`);
    return x;
  };
  const m = u.model;
  if (!rec(m)) throw new SessionFileError('"model" is missing');
  const model = { spec: str(m.spec, MAX_PATH, 'model.spec'), name: str(m.name, MAX_PATH, 'model.name'), hash: str(m.hash, 256, 'model.hash') };
  const text = str(u.text, MAX_TEXT, '"text"');
  if (!Number.isInteger(u.topK) || (u.topK as number) < 1 || (u.topK as number) > 100) throw new SessionFileError('"topK" must be an integer from 1 to 100');
  if (typeof u.threshold !== 'number' || !Number.isFinite(u.threshold)) throw new SessionFileError('"threshold" must be a number');
  const place = parsePanelPlace(u.place);
  if (!place) throw new SessionFileError('"place" (selected cell, memory and interventions) is invalid');
  const triggerIndex = u.triggerIndex === null || u.triggerIndex === undefined ? null : str(u.triggerIndex, MAX_PATH, '"triggerIndex"');
  const savedAt = typeof u.savedAt === 'string' && u.savedAt.length <= 64 ? u.savedAt : '';
  return { format: SESSION_FORMAT, version: SESSION_VERSION, model, text, topK: u.topK as number, threshold: u.threshold, place, triggerIndex, savedAt };
}
