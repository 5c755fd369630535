/**
 * Data shaping against hand-computed values: buckets of steps, the bins × steps matrix
 * (count-weighted, empty bins null), shares, and the per-step series.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accuracyRows, binLabels, binMatrix, bucketMeans, bucketSteps, epochOfStep, gradMassShareOf, highConfidenceBins, lastEpochShare, lossRows, paramGradRows,
} from './chart-data.js';
import type { EpochRecord, StepRecord } from './metrics-records.js';

function step(n: number, binCounts: number[], binMeanGradNorm: number[], extra: Partial<StepRecord> = {}): StepRecord {
  return {
    step: n, epoch: 1, loss: null, base: null, bonus: null, accuracy: null, lr: null, imagesPerSecond: null, binCounts, binMeanGradNorm,
    meanPy: null, meanMargin: null, paramGradNormHigh: null, paramGradNormLow: null, workers: null, ...extra,
  };
}

const close = (actual: number | null, expected: number, what: string) => {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-12, `${what}: ${actual} ≠ ${expected}`);
};

// Two bins; per-step masses are count × mean: [3, 0.5], [1.6, 0.4], [4.8, 0], [0, 1].
const STEPS = [step(1, [3, 1], [1.0, 0.5]), step(2, [2, 2], [0.8, 0.2]), step(3, [4, 0], [1.2, 0]), step(4, [0, 4], [0, 0.25])];

test('bucketSteps splits consecutive steps into equal buckets, the last one shorter', () => {
  const five = [1, 2, 3, 4, 5].map((n) => step(n, [1], [1]));
  assert.deepEqual(bucketSteps(five, 2).map((b) => [b.from, b.to, b.steps.length]), [[1, 3, 3], [4, 5, 2]]);
  assert.deepEqual(bucketSteps(five, 10).map((b) => [b.from, b.to]), [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]);
  assert.deepEqual(bucketSteps([], 3), []);
  assert.throws(() => bucketSteps(five, 0), /positive integer, got 0/);
});

test('binMatrix: count-weighted means and mass shares per bucket, bucket-major', () => {
  const cells = binMatrix(STEPS, [0, 0.5, 1], 2);
  assert.equal(cells.length, 4);
  assert.deepEqual(cells.map((c) => [c.from, c.to, c.bin, c.label, c.count]), [[1, 2, 0, '0–0.5', 5], [1, 2, 1, '0.5–1', 3], [3, 4, 0, '0–0.5', 4], [3, 4, 1, '0.5–1', 4]]);
  // Bucket 1: masses [3 + 1.6, 0.5 + 0.4] = [4.6, 0.9] over counts [5, 3].
  close(cells[0]!.meanGradNorm, 4.6 / 5, 'bucket 1 bin 0 mean');
  close(cells[1]!.meanGradNorm, 0.9 / 3, 'bucket 1 bin 1 mean');
  close(cells[0]!.gradMassShare, 4.6 / 5.5, 'bucket 1 bin 0 share');
  close(cells[1]!.gradMassShare, 0.9 / 5.5, 'bucket 1 bin 1 share');
  // Bucket 2: masses [4.8, 1] over counts [4, 4].
  close(cells[2]!.meanGradNorm, 1.2, 'bucket 2 bin 0 mean');
  close(cells[3]!.meanGradNorm, 0.25, 'bucket 2 bin 1 mean');
  close(cells[3]!.gradMassShare, 1 / 5.8, 'bucket 2 bin 1 share');
});

test('binMatrix: an empty bin has no mean (not the 0 the records write), and a share of 0', () => {
  const cells = binMatrix(STEPS, [0, 0.5, 1], 4);
  const step3 = cells.filter((c) => c.from === 3);
  assert.equal(step3[1]!.count, 0);
  assert.equal(step3[1]!.meanGradNorm, null);
  assert.equal(step3[1]!.gradMassShare, 0);
  close(step3[0]!.gradMassShare, 1, 'all of step 3 in bin 0');
  const silent = binMatrix([step(1, [0, 0], [0, 0])], [0, 0.5, 1], 4);
  assert.deepEqual(silent.map((c) => [c.meanGradNorm, c.gradMassShare]), [[null, null], [null, null]]);
});

test('gradMassShareOf sums the chosen bins of each bucket', () => {
  const shares = gradMassShareOf(STEPS, [1], 2, 2);
  assert.deepEqual(shares.map((s) => [s.from, s.to]), [[1, 2], [3, 4]]);
  close(shares[0]!.share, 0.9 / 5.5, 'bucket 1');
  close(shares[1]!.share, 1 / 5.8, 'bucket 2');
  close(gradMassShareOf(STEPS, [0, 1], 2, 1)[0]!.share, 1, 'all bins');
});

test('bin labels and high-confidence bins follow the edges', () => {
  const edges = [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1];
  assert.deepEqual(binLabels(edges), ['0–0.25', '0.25–0.5', '0.5–0.75', '0.75–0.9', '0.9–0.99', '0.99–1']);
  assert.deepEqual(highConfidenceBins(edges, 0.5), [2, 3, 4, 5]);
  assert.deepEqual(highConfidenceBins(edges, 0.6), [3, 4, 5]);
  assert.deepEqual(highConfidenceBins([0, 0.5, 1], 0.99), []);
});

test('per-step series: bucket means skip nulls; loss parts, accuracy and sampled param-grad rows', () => {
  const steps = [
    step(1, [1], [1], { loss: 2, base: 2.5, bonus: -0.5, accuracy: 0.25, paramGradNormHigh: 0, paramGradNormLow: 3 }),
    step(2, [1], [1], { loss: null, base: 2.1, bonus: -0.3, accuracy: 0.5 }),
    step(3, [1], [1], { loss: 1, base: 1.4, bonus: -0.4, accuracy: 0.75, paramGradNormHigh: 1, paramGradNormLow: 2 }),
  ];
  assert.deepEqual(bucketMeans(steps, (s) => s.loss, 1), [{ step: 3, value: 1.5 }]);
  assert.deepEqual(bucketMeans(steps, (s) => s.loss, 3), [{ step: 1, value: 2 }, { step: 3, value: 1 }]);
  const loss = lossRows(steps, 1);
  assert.deepEqual(loss.map((r) => r.part), ['total', 'base', 'bonus']);
  close(loss[1]!.value, 2, 'mean base');
  close(loss[2]!.value, -0.4, 'mean bonus');
  const epochs: EpochRecord[] = [{ epoch: 1, step: 3, trainLoss: 1.5, trainAccuracy: 0.5, testLoss: null, testAccuracy: null, confidence: null }];
  assert.deepEqual(accuracyRows(steps, epochs, 1).map((r) => [r.step, r.series, r.value]), [[3, 'train (batch, per step)', 0.5], [3, 'train (epoch)', 0.5]]);
  const grads = paramGradRows(steps, 0.5, 10);
  assert.deepEqual(grads.map((r) => [r.step, r.group, r.value]), [
    [1, 'high confidence (p_y > 0.5)', 0], [3, 'high confidence (p_y > 0.5)', 1], [1, 'low confidence (p_y ≤ 0.5)', 3], [3, 'low confidence (p_y ≤ 0.5)', 2],
  ]);
});

test('epochOfStep and lastEpochShare', () => {
  assert.equal(epochOfStep(50, 100), 0.5);
  assert.equal(epochOfStep(50, null), 50);
  const table = (shares: number[]) => ({ bins: shares.map((s, i) => ({ lo: i / shares.length, hi: (i + 1) / shares.length, count: 1, meanGradNorm: 1, gradMassShare: s })), meanPy: 0.5 });
  const epochs: EpochRecord[] = [
    { epoch: 1, step: 10, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, confidence: table([0.7, 0.2, 0.1]) },
    { epoch: 2, step: 20, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.5, confidence: table([0.5, 0.3, 0.2]) },
  ];
  close(lastEpochShare(epochs, [1, 2]), 0.5, 'last epoch, bins 1–2');
  assert.equal(lastEpochShare([], [1]), null);
});
