// The host validates every webview message against src/protocol.ts: well-formed requests pass
// typed, and anything else (wrong types, unknown methods, out-of-range or oversized arguments) is
// rejected before it reaches the engine.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LIMITS, parseWebviewMessage } from '../../src/protocol';

const req = (method: string, params: unknown, requestId: unknown = 1): unknown => ({ type: 'request', requestId, method, params });

test('accepts ready and each well-formed request', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'rendered', tokens: 128, ms: 12.5, paintedAt: 1e12, extra: 'dropped' }), {
    type: 'rendered',
    tokens: 128,
    ms: 12.5,
    paintedAt: 1e12,
  });
  const ok: unknown[] = [
    req('memoryDetails', { layer: 3, key: 511, k: 8 }),
    req('intervene', { ids: [464, 1468], position: 1, interventions: [{ layer: 0, key: 2, mode: 'set', value: 0 }], k: 5 }),
    req('intervene', { ids: [1], position: 0, interventions: [], k: 1 }),
    req('layerPredictions', { ids: [1, 2, 3], position: 2, k: 3, interventions: [] }),
    req('layerPredictions', { ids: [1, 2, 3], position: 2, k: 3, interventions: [{ layer: 1, key: 9, mode: 'scale', value: 2 }] }),
    req('highlightKey', { layer: 7, key: 1023 }),
    req('memoryTriggers', { layer: 7, key: 1023 }),
    req('addLabel', { layer: 7, key: 1023, text: 'ends with a year', kind: 'shallow' }),
    req('addLabel', { layer: 0, key: 0, text: 'sports teams', kind: 'semantic' }),
    req('removeLabel', { layer: 0, key: 0, text: 'sports teams' }),
    req('attribute', { ids: [1, 2, 3], position: 2, target: null, contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2, 3], position: 0, target: { text: ' the' }, contrast: { id: 50256 }, k: 1 }),
  ];
  for (const m of ok) assert.deepEqual(parseWebviewMessage(m), m);
});

test('rejects malformed messages', () => {
  const bad: unknown[] = [
    null,
    'ready',
    [],
    { type: 'nope' },
    { type: 'rendered', tokens: -1, ms: 3, paintedAt: 1 },
    { type: 'rendered', tokens: 3, ms: Number.POSITIVE_INFINITY, paintedAt: 1 },
    { type: 'rendered', tokens: 3, ms: 3 },
    req('memoryDetails', { layer: 3, key: 5, k: 8 }, -1),
    req('memoryDetails', { layer: 3, key: 5, k: 8 }, '1'),
    req('eval', { code: 'x' }),
    req('toString', {}),
    req('__proto__', {}),
    req('memoryDetails', null),
    req('memoryDetails', { layer: 3, key: 5 }),
    req('memoryDetails', { layer: -1, key: 5, k: 8 }),
    req('memoryDetails', { layer: 1.5, key: 5, k: 8 }),
    req('memoryDetails', { layer: '3', key: 5, k: 8 }),
    req('memoryDetails', { layer: 3, key: 5, k: 0 }),
    req('memoryDetails', { layer: 3, key: 5, k: LIMITS.maxK + 1 }),
    req('intervene', { ids: [], position: 0, interventions: [], k: 5 }),
    req('intervene', { ids: [1, 2], position: 2, interventions: [], k: 5 }),
    req('intervene', { ids: [1, 2], position: 0, interventions: [{ layer: 0, key: 0, mode: 'zap', value: 0 }], k: 5 }),
    req('intervene', { ids: [1, 2], position: 0, interventions: [{ layer: 0, key: 0, mode: 'set', value: Number.NaN }], k: 5 }),
    req('intervene', { ids: [1, 2], position: 0, interventions: [{ layer: 0, key: 0, mode: 'set', value: 1e9 }], k: 5 }),
    req('intervene', { ids: [1, 2], position: 0, interventions: 'all', k: 5 }),
    req('attribute', { ids: [1, 2], position: 2, target: null, contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2], position: 0, target: { text: '' }, contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2], position: 0, target: { text: 'x'.repeat(LIMITS.maxTokenText + 1) }, contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2], position: 0, target: { id: -1 }, contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2], position: 0, target: { id: 1, text: 'a' }, contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2], position: 0, target: 'dog', contrast: null, k: 8 }),
    req('attribute', { ids: [1, 2], position: 0, target: null, k: 8 }),
    req('intervene', { ids: new Array(LIMITS.maxIds + 1).fill(1), position: 0, interventions: [], k: 5 }),
    req('intervene', {
      ids: [1],
      position: 0,
      interventions: new Array(LIMITS.maxInterventions + 1).fill({ layer: 0, key: 0, mode: 'set', value: 0 }),
      k: 5,
    }),
    req('layerPredictions', { ids: [1, -2], position: 0, k: 3, interventions: [] }),
    // the lens must say which interventions apply, even none
    req('layerPredictions', { ids: [1, 2], position: 0, k: 3 }),
    req('layerPredictions', { ids: [1, 2], position: 0, k: 3, interventions: [{ layer: 0, key: 0, mode: 'off', value: 0 }] }),
    req('highlightKey', { layer: 0 }),
    req('memoryTriggers', { layer: 0 }),
    req('memoryTriggers', { layer: 0, key: -1 }),
    req('addLabel', { layer: 0, key: 0, text: '', kind: 'shallow' }),
    req('addLabel', { layer: 0, key: 0, text: '   ', kind: 'shallow' }),
    req('addLabel', { layer: 0, key: 0, text: 'x'.repeat(LIMITS.maxLabel + 1), kind: 'shallow' }),
    req('addLabel', { layer: 0, key: 0, text: 'two\nlines', kind: 'shallow' }),
    req('addLabel', { layer: 0, key: 0, text: 'ok', kind: 'deep' }),
    req('addLabel', { layer: 0, key: 0, text: 42, kind: 'shallow' }),
    req('addLabel', { layer: 0, key: 0, text: 'ok' }),
    req('removeLabel', { layer: 0, key: 0 }),
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m)?.slice(0, 120));
});
