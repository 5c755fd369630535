import { test } from 'node:test';
import assert from 'node:assert/strict';
import { learningRate, scaleLearningRate } from './lr-schedule.js';

const base = { baseLr: 0.1, epochs: 10, warmupEpochs: 0, stepsPerEpoch: 100 };

test('cosine: peak at the start, half way at the middle, ~0 at the end', () => {
  const o = { ...base, kind: 'cosine' as const };
  assert.equal(learningRate(o, 0), 0.1);
  assert.ok(Math.abs(learningRate(o, 500) - 0.05) < 1e-12);
  assert.ok(learningRate(o, 999) < 1e-5);
});

test('multistep: ×0.1 at 50% and 75% of the epochs', () => {
  const o = { ...base, kind: 'multistep' as const, epochs: 8 };
  assert.equal(learningRate(o, 399), 0.1);
  assert.ok(Math.abs(learningRate(o, 400) - 0.01) < 1e-12);
  assert.ok(Math.abs(learningRate(o, 600) - 0.001) < 1e-12);
});

test('warm-up ramps linearly to the base rate, then the schedule takes over', () => {
  const o = { ...base, kind: 'constant' as const, warmupEpochs: 2 };
  assert.ok(Math.abs(learningRate(o, 0) - 0.1 / 200) < 1e-12);
  assert.ok(Math.abs(learningRate(o, 99) - 0.05) < 1e-12);
  assert.equal(learningRate(o, 200), 0.1);
  const c = { ...base, kind: 'cosine' as const, warmupEpochs: 2 };
  assert.equal(learningRate(c, 200), 0.1, 'cosine starts after warm-up');
});

test('linear scaling rule', () => {
  assert.ok(Math.abs(scaleLearningRate(0.1, 512, 128) - 0.4) < 1e-12);
});
