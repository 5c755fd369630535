import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeStepReports, type StepSums } from './step-merge.js';

const EDGES = [0, 0.5, 1];

function report(rank: number, over: Partial<StepSums>): StepSums {
  return {
    rank, step: 7, epoch: 2, examples: 16, lossSum: 8, baseSum: 6, bonusSum: 2, correct: 4,
    binCounts: [10, 6], binGradNormSums: [5, 1], marginSum: 1, pySum: 8,
    paramGradNormHigh: Number.NaN, paramGradNormLow: Number.NaN, learningRate: 0.1,
    dataSeconds: 0.01, computeSeconds: 0.7, allreduceSeconds: 0.03, allreduceTotalSeconds: 0.05, updateSeconds: 0.01, allreduceBytes: 1000,
    indexSum: 0, skipped: false, ...over,
  };
}

test('a merged step takes as long as its slowest rank; the all-reduce splits into communication (last arrival) and waiting', () => {
  // Rank 1 computed 0.3 s longer, so rank 0 waited for it inside its all-reduce.
  const fast = report(0, { computeSeconds: 0.7, allreduceSeconds: 0.33 });
  const slow = report(1, { computeSeconds: 1.0, allreduceSeconds: 0.03 });
  const merged = mergeStepReports(EDGES, [fast, slow], 2, 3);
  const r = merged.record as Record<string, any>;
  assert.equal(merged.seconds, 0.01 + 1.0 + 0.03 + 0.01);
  assert.equal(r['seconds'], merged.seconds);
  assert.deepEqual(r['phaseSeconds'], { data: 0.01, compute: 1.0, allreduce: 0.33, update: 0.01 });
  assert.equal(r['allreduceCommSeconds'], 0.03);
  assert.equal(r['allreduceTotalSeconds'], 0.05, 'the whole all-reduce, hidden part included');
  assert.equal(r['allreduceBytes'], 2000);
  assert.equal(r['workers'], 2);
  assert.equal(r['generation'], 3);
  assert.equal(merged.examples, 32);
  assert.equal(r['loss'], 16 / 32);
  assert.equal(r['accuracy'], 8 / 32);
  assert.equal(r['partial'], undefined);
});

test('a step finalised after a rank was lost is marked partial', () => {
  const merged = mergeStepReports(EDGES, [report(0, {})], 3, 4);
  assert.equal(merged.record['partial'], true);
  assert.equal(merged.record['reports'], 1);
  assert.equal(merged.record['allreduceCommSeconds'], 0.03);
});
