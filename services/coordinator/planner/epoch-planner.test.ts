import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistributedSampler } from '../../core/training/distributed-sampler.js';
import { learningRate } from '../../core/training/lr-schedule.js';
import { parseTrainConfig } from '../../core/training/train-config.js';
import { cursorAt, RunLedger } from '../run/run-ledger.js';
import { advance, epochSamplesFor, epochStart, planEpoch, rankExamples, stepsPerEpoch, type PlanContext } from './epoch-planner.js';

const config = parseTrainConfig({ data: 'synthetic', model: 'cnn-small', epochs: 4, batchSize: 8, lr: 0.2, lrScaling: 'linear', lrReferenceBatch: 16, evalEvery: 2, experiment: 'plan' });
const ctx = (trainSize: number, testSize = 10, c = config): PlanContext => ({ config: c, trainSize, testSize, epochSamples: trainSize });

test('a fixed ring gets exactly DistributedSampler shards (N divisible by the global batch)', () => {
  const c = ctx(96);
  for (let rank = 0; rank < 3; rank++) {
    const p = planEpoch(c, { step: 4, epoch: 1, position: 0 }, 3, rank);
    const sampler = new DistributedSampler({ size: 96, rank, worldSize: 3, shuffle: true, seed: config.seed });
    sampler.setEpoch(1);
    assert.deepEqual([...p.trainIndices], [...sampler.indices()]);
    assert.deepEqual([...p.stepExamples], [8, 8, 8, 8]);
  }
});

test('the global batch of N ranks at batch B is the single-rank batch of N·B', () => {
  const one = planEpoch(ctx(100, 10, { ...config, batchSize: 16 }), { step: 0, epoch: 1, position: 0 }, 1, 0);
  const ranks = [0, 1].map((r) => planEpoch(ctx(100), { step: 0, epoch: 1, position: 0 }, 2, r));
  for (let step = 0; step < 6; step++) {
    const union = [...ranks[0]!.trainIndices.subarray(step * 8, step * 8 + 8), ...ranks[1]!.trainIndices.subarray(step * 8, step * 8 + 8)].sort((a, b) => a - b);
    assert.deepEqual(union, [...one.trainIndices.subarray(step * 16, step * 16 + 16)].sort((a, b) => a - b));
  }
});

test('no padding: an uneven last step splits the remainder; every sample exactly once; LRs follow the scaled schedule', () => {
  const c = ctx(101, 11);
  const steps = stepsPerEpoch(c, 3);
  assert.equal(steps, Math.ceil(101 / 24));
  const plans = [0, 1, 2].map((r) => planEpoch(c, { step: steps, epoch: 1, position: 0 }, 3, r));
  assert.deepEqual(plans.map((p) => p.stepExamples.at(-1)), [rankExamples(101 - 4 * 24, 3, 0), rankExamples(5, 3, 1), rankExamples(5, 3, 2)]);
  assert.deepEqual(plans.map((p) => p.stepExamples.at(-1)), [2, 2, 1]);
  const all = plans.flatMap((p) => [...p.trainIndices]).sort((a, b) => a - b);
  assert.deepEqual(all, [...Array(101).keys()]);
  for (const p of plans) {
    assert.equal(p.learningRates.length, steps);
    // Linear scaling: global batch 24 vs reference 16; step k starts k·24 samples into the epoch.
    assert.ok(Math.abs(p.learningRates[1]! - learningRate({ kind: 'cosine', baseLr: (0.2 * 24) / 16, epochs: 4, warmupEpochs: 0, stepsPerEpoch: 101 }, 101 + 24)) < 1e-15);
  }
  const evalAll = plans.flatMap((p) => [...p.evalIndices]).sort((a, b) => a - b);
  assert.deepEqual(evalAll, [...Array(11).keys()]);
  assert.equal(planEpoch(c, { step: 0, epoch: 0, position: 0 }, 3, 0).evalIndices.length, 0, 'evalEvery 2: no evaluation after epoch 1');
});

test('elastic: 3 ranks train 2 steps, then 2 ranks re-shard the rest of the epoch — every sample once', () => {
  const c = ctx(120);
  const first = [0, 1, 2].map((r) => planEpoch(c, { step: 0, epoch: 0, position: 0 }, 3, r));
  const done = first.flatMap((p) => [...p.trainIndices.subarray(0, 2 * 8)]);
  const resume = advance(c, { step: 0, epoch: 0, position: 0 }, 3, 2);
  assert.deepEqual(resume, { step: 2, epoch: 0, position: 48 });
  const rest = [0, 1].map((r) => planEpoch(c, resume, 2, r));
  assert.equal(rest[0]!.firstStep, 2);
  assert.equal(rest[0]!.stepExamples.length, Math.ceil(72 / 16));
  const all = [...done, ...rest.flatMap((p) => [...p.trainIndices])].sort((a, b) => a - b);
  assert.deepEqual(all, [...Array(120).keys()]);
  // The next epoch of that generation starts after the re-sharded steps.
  assert.deepEqual(epochStart(c, resume, 2, 1), { step: 2 + 5, epoch: 1, position: 0 });
});

test('the ledger accounts each epoch exactly once across generations; cursorAt agrees with advance', () => {
  const c = ctx(120);
  const ledger = new RunLedger(c);
  ledger.begin(1, 3, { step: 0, epoch: 0, position: 0 });
  const cut = advance(c, { step: 0, epoch: 0, position: 0 }, 3, 2);
  assert.deepEqual(ledger.cursorAt(2), cut);
  ledger.begin(2, 2, cut);
  const end = advance(c, cut, 2, 5 + 8 + 3);
  assert.deepEqual(cursorAt(c, ledger.current!, end.step), end);
  const accounts = ledger.accounts(end.step);
  assert.deepEqual(accounts.map((a) => [a.epoch, a.committed, a.exact]), [[1, 120, true], [2, 120, true], [3, 48, false]]);
  assert.deepEqual(accounts[0]!.ranges, [[0, 48], [48, 120]]);
  assert.equal(epochSamplesFor({ ...config, maxStepsPerEpoch: 2 }, 120, 3), 48);
});
