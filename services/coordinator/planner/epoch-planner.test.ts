import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainConfig } from '../../core/training/train-config.js';
import { learningRate } from '../../core/training/lr-schedule.js';
import { planEpoch, stepsPerEpoch } from './epoch-planner.js';

const config = parseTrainConfig({ data: 'synthetic', model: 'cnn-small', epochs: 4, batchSize: 8, lr: 0.2, lrScaling: 'linear', lrReferenceBatch: 16, evalEvery: 2, experiment: 'plan' });

test('the global batch of N ranks at batch B is the single-rank batch of N·B', () => {
  const one = planEpoch({ config: { ...config, batchSize: 16 }, trainSize: 100, testSize: 10, worldSize: 1 }, 1, 0);
  const ranks = [0, 1].map((r) => planEpoch({ config, trainSize: 100, testSize: 10, worldSize: 2 }, 1, r));
  for (let step = 0; step < 6; step++) {
    const union = [...ranks[0]!.trainIndices.subarray(step * 8, step * 8 + 8), ...ranks[1]!.trainIndices.subarray(step * 8, step * 8 + 8)].sort((a, b) => a - b);
    assert.deepEqual(union, [...one.trainIndices.subarray(step * 16, step * 16 + 16)].sort((a, b) => a - b));
  }
});

test('equal steps on every rank; per-step LRs follow the scaled schedule; eval split exactly once', () => {
  const ctx = { config, trainSize: 101, testSize: 11, worldSize: 3 };
  const steps = stepsPerEpoch(ctx);
  assert.equal(steps, Math.ceil(Math.ceil(101 / 3) / 8));
  const plans = [0, 1, 2].map((r) => planEpoch(ctx, 1, r));
  for (const p of plans) {
    assert.equal(p.learningRates.length, steps);
    assert.equal(p.firstStep, steps);
    // Linear scaling: global batch 24 vs reference 16.
    assert.equal(p.learningRates[0], learningRate({ kind: 'cosine', baseLr: 0.2 * 24 / 16, epochs: 4, warmupEpochs: 0, stepsPerEpoch: steps }, steps));
  }
  const evalAll = plans.flatMap((p) => [...p.evalIndices]).sort((a, b) => a - b);
  assert.deepEqual(evalAll, [...Array(11).keys()]);
  assert.equal(planEpoch(ctx, 0, 0).evalIndices.length, 0, 'evalEvery 2: no evaluation after epoch 1');
});
