/**
 * The report's intervals: Wilson against published values, the cluster bootstrap
 * against what resampling whole clusters must give.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusteredRatio, wilson } from '../../src/core/analysis/statistics/intervals';
import { seededRandom } from '../../src/core/analysis/statistics/sample';

const near = (a: number, b: number, tol = 5e-4) => Math.abs(a - b) <= tol;

test('Wilson intervals match the textbook values', () => {
  // Newcombe (1998), Table I: 81/263 → 0.2553–0.3662; 15/148 → 0.0624–0.1605; 0/20 → 0–0.1611
  for (const [k, n, lo, hi] of [[81, 263, 0.2553, 0.3662], [15, 148, 0.0624, 0.1605], [0, 20, 0, 0.1611]]) {
    const [a, b] = wilson(k, n);
    assert.ok(near(a, lo) && near(b, hi), `${k}/${n}: [${a}, ${b}]`);
  }
  assert.deepEqual(wilson(0, 0), [NaN, NaN]);
});

test('the cluster bootstrap: constant clusters give a point, independent clusters a binomial-like spread, correlated ones a wider one', () => {
  const rand = seededRandom(3);
  const constant = new ClusteredRatio();
  for (let c = 0; c < 50; c++) constant.add(c, 3, 10);
  assert.deepEqual(constant.ci95(rand), [0.3, 0.3]);

  // 400 positions, half hits: as 400 windows of one position, or 8 windows of 50 that are all-or-nothing
  const spread = new ClusteredRatio();
  const lumpy = new ClusteredRatio();
  for (let i = 0; i < 400; i++) {
    spread.add(i, i % 2);
    lumpy.add(Math.floor(i / 50), Math.floor(i / 50) % 2);
  }
  assert.equal(spread.value, 0.5);
  assert.equal(lumpy.value, 0.5);
  const [a, b] = spread.ci95(rand);
  const [w0, w1] = wilson(200, 400);
  assert.ok(Math.abs(a - w0) < 0.015 && Math.abs(b - w1) < 0.015, `independent: [${a}, ${b}] vs Wilson [${w0}, ${w1}]`);
  const [c, d] = lumpy.ci95(rand);
  assert.ok(d - c > 3 * (b - a), `8 correlated windows must be far less certain: [${c}, ${d}]`);
  assert.deepEqual(new ClusteredRatio().ci95(rand), [NaN, NaN]);
});
