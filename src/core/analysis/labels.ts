/**
 * Human labels of keys' patterns, kept in a JSON file the caller names (the extension: a
 * file in the workspace), shown next to the automatic patterns. The file is validated on
 * read, so a hand edit that breaks it gives a message naming the entry, and written
 * atomically, so a crash never leaves half a file.
 *
 * Format: { "version": 1, "model"?: "<model hash>", "labels": [{ "layer", "key", "text", "kind" }] }
 */
import * as fs from 'node:fs';
import { readRegularFile } from '../io/readFile';
import * as path from 'node:path';
import { writeFileAtomic } from '../io/atomic';

/** Hand-written labels stay far below this; it bounds what a damaged file makes us read. */
const MAX_LABELS_BYTES = 64 * 1024 * 1024;

export type LabelKind = 'shallow' | 'semantic';

export interface KeyLabel {
  layer: number;
  key: number;
  text: string;
  kind: LabelKind;
}

export const LABELS_VERSION = 1;

export class LabelFileError extends Error {}

function checkLabel(file: string, raw: unknown, i: number): KeyLabel {
  const at = `${file}: labels[${i}]`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new LabelFileError(`${at} must be an object { layer, key, text, kind }`);
  const l = raw as Record<string, unknown>;
  for (const f of ['layer', 'key'] as const) {
    if (!(typeof l[f] === 'number' && Number.isInteger(l[f]) && (l[f] as number) >= 0)) throw new LabelFileError(`${at}.${f} must be a non-negative integer (got ${JSON.stringify(l[f])})`);
  }
  if (typeof l.text !== 'string' || l.text.trim() === '') throw new LabelFileError(`${at}.text must be a non-empty string`);
  if (l.kind !== 'shallow' && l.kind !== 'semantic') throw new LabelFileError(`${at}.kind must be "shallow" or "semantic" (got ${JSON.stringify(l.kind)})`);
  return { layer: l.layer as number, key: l.key as number, text: l.text, kind: l.kind };
}

/**
 * The labels in `file`; none when the file does not exist yet. With `modelHash`, a file
 * written for another model is an error rather than labels on the wrong keys.
 */
export function readLabels(file: string, modelHash?: string): KeyLabel[] {
  let text: string;
  if (!fs.existsSync(file)) return [];
  try {
    // a regular file of bounded size (a FIFO or /dev/zero here would hang or fill memory)
    text = readRegularFile(file, 'labels file', { maxBytes: MAX_LABELS_BYTES }).toString('utf8');
  } catch (e) {
    throw new LabelFileError((e as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new LabelFileError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new LabelFileError(`${file} must hold an object { "version": ${LABELS_VERSION}, "labels": [...] }`);
  const o = json as Record<string, unknown>;
  if (o.version !== LABELS_VERSION) throw new LabelFileError(`${file} has version ${JSON.stringify(o.version)}; this FFN Lens reads version ${LABELS_VERSION}`);
  if (o.model !== undefined && typeof o.model !== 'string') throw new LabelFileError(`${file}: "model" must be a model hash string`);
  if (modelHash && o.model && o.model !== modelHash) throw new LabelFileError(`${file} labels another model (hash ${o.model}), not this one (hash ${modelHash})`);
  if (!Array.isArray(o.labels)) throw new LabelFileError(`${file}: "labels" must be an array`);
  return o.labels.map((l, i) => checkLabel(file, l, i));
}

/** Writes the labels sorted by layer and key (stable otherwise), for readable diffs. */
export function writeLabels(file: string, labels: readonly KeyLabel[], modelHash?: string): void {
  labels.forEach((l, i) => checkLabel(file, l, i));
  const sorted = labels.map((l, i) => ({ l, i })).sort((a, b) => a.l.layer - b.l.layer || a.l.key - b.l.key || a.i - b.i);
  const body = { version: LABELS_VERSION, ...(modelHash ? { model: modelHash } : {}), labels: sorted.map(({ l }) => ({ layer: l.layer, key: l.key, text: l.text, kind: l.kind })) };
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, [JSON.stringify(body, null, 2) + '\n']);
}

export function labelsFor(labels: readonly KeyLabel[], layer: number, key: number): KeyLabel[] {
  return labels.filter((l) => l.layer === layer && l.key === key);
}

/** Adds a label (an identical one is not repeated) and saves the file. */
export function addLabel(file: string, label: KeyLabel, modelHash?: string): KeyLabel[] {
  const labels = readLabels(file, modelHash);
  if (!labels.some((l) => l.layer === label.layer && l.key === label.key && l.text === label.text && l.kind === label.kind)) labels.push(label);
  writeLabels(file, labels, modelHash);
  return labels;
}

/** Removes the labels of a key with this text, and saves the file. */
export function removeLabel(file: string, layer: number, key: number, text: string, modelHash?: string): KeyLabel[] {
  const labels = readLabels(file, modelHash).filter((l) => !(l.layer === layer && l.key === key && l.text === text));
  writeLabels(file, labels, modelHash);
  return labels;
}
