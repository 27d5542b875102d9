// Export Analysis writes what the panel showed: JSON round-trips the view; CSV has one row per
// layer, token and top memory, with token text quoted so commas, quotes and newlines survive.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, formatAnalysis } from '../../src/extension/exportAnalysis';
import type { InspectView } from '../../src/protocol';

const view: InspectView = {
  model: { name: 'm', family: 'gpt2', nLayers: 2, dModel: 4, dFf: 8, vocabSize: 10, contextSize: 16 },
  tokens: [
    { id: 1, text: 'Hi', start: 0, end: 2 },
    { id: 2, text: ', "x"\n', start: 2, end: 8 },
  ],
  layers: [0, 1].map((layer) => ({
    layer,
    positions: [
      { keys: [3, 5], coeffs: [1.5, 0.25], active: 1, maxCoeff: 1.5 },
      { keys: [7], coeffs: [2], active: 1, maxCoeff: 2 },
    ],
  })),
  predictions: [[{ id: 2, text: ',', prob: 0.5 }], [{ id: 1, text: 'Hi', prob: 0.1 }]],
  source: { label: 'Hi, "x"', text: 'Hi, "x"\n' },
  threshold: 1,
};

test('JSON export is the view itself', () => {
  assert.deepEqual(JSON.parse(formatAnalysis(view, 'json')), view);
});

test('CSV export: a header and one row per layer, token and memory', () => {
  const csv = formatAnalysis(view, 'csv');
  assert.ok(csv.startsWith('layer,position,token,token_id,start,end,rank,key,coeff,active,max_coeff\n'));
  assert.ok(csv.includes('\n0,0,"Hi",1,0,2,1,3,1.5,1,1.5\n'));
  assert.ok(csv.includes('\n1,1,", ""x""\n",2,2,8,1,7,2,1,2\n'));
  // 2 layers × (2 + 1) memories, plus the header; one embedded newline in a quoted field.
  assert.equal(csv.trimEnd().split('\n').length, 1 + 6 + 2);
});

test('csvField quotes and doubles quotes', () => {
  assert.equal(csvField('a"b'), '"a""b"');
});
