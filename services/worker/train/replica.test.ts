/**
 * The training step on wasm: no tensor leaks, the local step and the ring step (through an
 * exchange that stands in for the ring) give the same update, bucketing does not change it,
 * the high/low-confidence split recovers the full gradient, NaN/Inf skips the update on every
 * rank, and a failed all-reduce leaves the replica as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { parseLossOptions } from '../../core/loss/index.js';
import { Rng } from '../../core/random.js';
import { silentLogger } from '../../core/logging.js';
import { selectBackend } from '../backend/select-backend.js';
import { createModel, exportState, flattenParams } from '../models/index.js';
import { emptyEvalSums } from '../../core/training/loss-sums.js';
import { Replica, type GradientExchange, type StepInput } from './replica.js';
import { DEFAULT_CONFIDENCE_EDGES } from '../../core/training/confidence.js';

await selectBackend('wasm', silentLogger);
const SGD = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };

function batch(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  return { x: Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.nextGaussian()), y: Int32Array.from({ length: n }, (_, i) => i % 10) };
}

function input(x: Float32Array, y: Int32Array, over: Partial<StepInput> = {}): StepInput {
  return { x, labels: y, loss: parseLossOptions('el'), epoch: 1, lr: 0.05, splitThreshold: null, ...over };
}

/** A ring of one: the all-reduce leaves each bucket as it is, and every bucket is kept for inspection. */
function soloExchange(share = 1): GradientExchange & { seen: Float32Array[] } {
  const seen: Float32Array[] = [];
  return { share, seen, leaving: () => false, allReduce: async (b) => void seen.push(Float32Array.from(b)) };
}

test('no tensor leaks over 100 local steps, ring steps and evaluation', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 1 }), SGD, 5000);
  const { x, y } = batch(4, 1);
  await replica.step(input(x, y, { splitThreshold: 0.5 }));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    await replica.step(input(x, y, { splitThreshold: i % 10 === 0 ? 0.5 : null }), i % 2 === 0 ? null : soloExchange());
    assert.equal(tf.memory().numTensors, before, `after step ${i + 1}`);
  }
  const sums = emptyEvalSums(DEFAULT_CONFIDENCE_EDGES.length - 1);
  await replica.evaluateBatch(x, y, parseLossOptions('el'), 1, DEFAULT_CONFIDENCE_EDGES, sums);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(sums.examples, 4);
  assert.equal(sums.binExamples.reduce((a, b) => a + b, 0), 4);
  replica.dispose();
});

test('a ring step of one rank, in one bucket or many, updates exactly as the local step', async () => {
  const { x, y } = batch(6, 2);
  const local = new Replica(createModel('cnn-small', { seed: 2 }), SGD);
  const oneBucket = new Replica(createModel('cnn-small', { seed: 2 }), SGD);
  const manyBuckets = new Replica(createModel('cnn-small', { seed: 2 }), SGD, 3000);
  assert.equal(oneBucket.buckets.buckets.length, 1);
  assert.ok(manyBuckets.buckets.buckets.length >= 5, `${manyBuckets.buckets.buckets.length} buckets`);
  for (let i = 0; i < 3; i++) {
    const a = await local.step(input(x, y));
    const b = await oneBucket.step(input(x, y), soloExchange());
    const c = await manyBuckets.step(input(x, y), soloExchange());
    assert.equal(a.stats!.loss, b.stats!.loss);
    assert.equal(a.stats!.loss, c.stats!.loss);
    assert.deepEqual(b.decision, { total: 1, skipped: false, boundary: false });
  }
  const [pa, pb, pc] = await Promise.all([local, oneBucket, manyBuckets].map((r) => flattenParams(r.model)));
  assert.deepEqual(pb, pa);
  assert.deepEqual(pc, pa);
  const [sa, sc] = await Promise.all([exportState(local.model), exportState(manyBuckets.model)]);
  assert.deepEqual(sc.get('bn1.running_var'), sa.get('bn1.running_var'));
  for (const r of [local, oneBucket, manyBuckets]) r.dispose();
});

test('buckets go out last layers first; the first carries the share, the last the NaN and leave flags', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 3 }), SGD, 3000);
  const { x, y } = batch(4, 3);
  const exchange = { ...soloExchange(0.5), leaving: () => true };
  const seen = exchange.seen;
  const r = await replica.step(input(x, y), exchange);
  const layout = replica.buckets.buckets;
  assert.equal(seen.length, layout.length);
  assert.equal(layout[0]!.slots[0]!.name, 'linear.bias');
  assert.equal(layout.at(-1)!.slots.at(-1)!.name, 'conv1.weight');
  assert.ok(layout.length > 2);
  assert.deepEqual([...seen[0]!.subarray(layout[0]!.size)], [0.5]);
  assert.deepEqual([...seen.at(-1)!.subarray(layout.at(-1)!.size)], [0, 1]);
  for (const middle of seen.slice(1, -1)) assert.ok(layout.some((b) => b.size === middle.length), 'middle buckets carry only gradient');
  assert.deepEqual(r.decision, { total: 0.5, skipped: false, boundary: true });
  replica.dispose();
});

test('parameter-gradient split: all-high and all-low thresholds recover the full gradient', async () => {
  const { x, y } = batch(6, 4);
  const norms: number[] = [];
  const splits = [];
  for (const threshold of [1e-9, 1 - 1e-9, null]) {
    const replica = new Replica(createModel('cnn-small', { seed: 4 }), SGD);
    const exchange = soloExchange();
    const r = await replica.step(input(x, y, { loss: parseLossOptions('el-full'), splitThreshold: threshold }), exchange);
    let sq = 0;
    for (const [b, values] of exchange.seen.entries()) for (let k = 0; k < replica.buckets.buckets[b]!.size; k++) sq += values[k]! ** 2;
    norms.push(Math.sqrt(sq));
    splits.push(r.split);
    replica.dispose();
  }
  const full = norms[0]!;
  const [allHigh, noneHigh, none] = splits;
  assert.equal(none, null);
  assert.equal(allHigh!.highExamples, 6);
  assert.ok(Math.abs(allHigh!.high - full) < 1e-3 * full, `high ${allHigh!.high} vs full ${full}`);
  assert.ok(allHigh!.low < 1e-3 * full);
  assert.equal(noneHigh!.highExamples, 0);
  assert.equal(noneHigh!.high, 0);
  assert.ok(Math.abs(noneHigh!.low - full) < 1e-3 * full);
});

test('a NaN in this rank\'s gradient is named, flagged to the ring, and no rank applies the step', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 5 }), SGD);
  const { x, y } = batch(4, 5);
  const before = await exportState(replica.model);
  const bad = Float32Array.from(x);
  bad[17] = Number.NaN;
  const exchange = soloExchange();
  const r = await replica.step(input(bad, y), exchange);
  assert.ok(r.nonFinite !== null && r.nonFinite !== 'loss', `named ${r.nonFinite}`);
  assert.equal(r.applied, false);
  assert.equal(replica.model.hasPendingRunningStats, false);
  assert.deepEqual(await exportState(replica.model), before);
  // Another rank's flag (the sum arrives > 0) skips this rank's healthy step the same way.
  const peerBad: GradientExchange = {
    share: 1,
    leaving: () => false,
    allReduce: async (b) => {
      if (b.length === replica.buckets.buckets.at(-1)!.size + 3) b[b.length - 2]! += 1;
    },
  };
  const healthy = await replica.step(input(x, y), peerBad);
  assert.equal(healthy.nonFinite, null);
  assert.deepEqual(healthy.decision, { total: 1, skipped: true, boundary: false });
  assert.deepEqual(await exportState(replica.model), before);
  replica.dispose();
});

test('a failed all-reduce rejects the step, applies nothing and leaks nothing', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 6 }), SGD, 3000);
  const { x, y } = batch(4, 6);
  await replica.step(input(x, y));
  const before = await exportState(replica.model);
  const tensors = tf.memory().numTensors;
  let calls = 0;
  const failing: GradientExchange = {
    share: 1,
    leaving: () => false,
    allReduce: async () => {
      if (++calls === 2) throw new Error('peer 127.0.0.1:1 went away');
    },
  };
  await assert.rejects(replica.step(input(x, y), failing), /peer 127.0.0.1:1 went away/);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(replica.model.hasPendingRunningStats, false);
  assert.deepEqual(await exportState(replica.model), before);
  replica.dispose();
});

test('a rank without examples contributes zeros and applies the ring\'s update', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 7 }), { momentum: 0, weightDecay: 0, nesterov: false });
  const before = await flattenParams(replica.model);
  // The other rank's gradient: 1 everywhere, with its share 1 in the control slot.
  const peer: GradientExchange & { seen: Float32Array[] } = {
    share: 0,
    seen: [],
    leaving: () => false,
    allReduce: async (b) => {
      peer.seen.push(Float32Array.from(b));
      const last = b.length === replica.buckets.size + 3;
      for (let k = 0; k < (last ? b.length - 3 : b.length); k++) b[k]! += 1;
      if (last) b[b.length - 3]! += 1;
    },
  };
  const r = await replica.step(input(new Float32Array(0), new Int32Array(0)), peer);
  assert.equal(r.stats, null);
  assert.ok(peer.seen[0]!.subarray(0, replica.buckets.size).every((v) => v === 0), 'this rank sent zeros');
  assert.deepEqual(r.decision, { total: 1, skipped: false, boundary: false });
  const after = await flattenParams(replica.model);
  // Plain SGD at lr 0.05 on a gradient of 1: every weight moved by −0.05 (in float32).
  for (let k = 0; k < after.length; k += 997) assert.equal(after[k], Math.fround(before[k]! - Math.fround(0.05)), `weight ${k}`);
  // Alone, with no examples anywhere, there is no mean to apply: nothing changes (no 0/0).
  const alone = await replica.step(input(new Float32Array(0), new Int32Array(0)), soloExchange(0));
  assert.equal(alone.applied, false);
  assert.deepEqual(await flattenParams(replica.model), after);
  replica.dispose();
});

test('SGD through the replica lowers the loss on a fixed batch', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 3 }), { momentum: 0.9, weightDecay: 0, nesterov: false });
  const { x, y } = batch(10, 3);
  const ce = input(x, y, { loss: parseLossOptions('ce') });
  const first = await replica.step(ce);
  let last = first.stats!.loss;
  for (let i = 0; i < 30; i++) last = (await replica.step(ce)).stats!.loss;
  assert.ok(last < first.stats!.loss * 0.5, `loss ${first.stats!.loss} → ${last}`);
  replica.dispose();
});

test('simulated compute: no model, buckets arrive spread over the given time, and the wait overlaps the all-reduce', async () => {
  const replica = new Replica(createModel('cnn-small', { seed: 8 }), { momentum: 0, weightDecay: 0, nesterov: false }, 3000);
  const k = replica.buckets.buckets.length;
  const arrivals: number[] = [];
  const t0 = performance.now();
  // Each reduction takes 40 ms (a slow ring); compute is 40 ms per bucket too.
  const slowRing: GradientExchange = {
    share: 1,
    leaving: () => false,
    allReduce: async (b) => {
      arrivals.push(performance.now() - t0);
      assert.ok(b.subarray(0, 10).every((v) => Math.abs(v - 1e-4) < 1e-9), 'the simulated gradient');
      await new Promise((r) => setTimeout(r, 40));
    },
  };
  const r = await replica.step(input(new Float32Array(4 * 3072), new Int32Array(4), { simulatedComputeMs: 40 * k }), slowRing);
  assert.equal(r.stats, null, 'no model ran');
  assert.equal(arrivals.length, k);
  // Timers are never early: bucket b is not ready before (b + 1) · 40 ms.
  for (let b = 0; b < k; b++) assert.ok(arrivals[b]! >= 40 * (b + 1) - 1, `bucket ${b} arrived at ${arrivals[b]} ms`);
  // Reductions run while later buckets are still being "computed": about one reduction is exposed,
  // not all k of them (generous bound for a loaded machine).
  assert.ok(k >= 5);
  assert.ok(r.timing.exposedAllreduceSeconds < (0.04 * k) / 2, `exposed ${r.timing.exposedAllreduceSeconds} s of ${0.04 * k} s of reductions`);
  // The total spans at least one 40 ms reduction (more when the timers fire on time; a loaded machine may bunch them).
  assert.ok(r.timing.allreduceSeconds >= 0.04 && r.timing.allreduceSeconds >= r.timing.exposedAllreduceSeconds, `total ${r.timing.allreduceSeconds} s`);
  await assert.rejects(replica.step(input(new Float32Array(3072), new Int32Array(1), { simulatedComputeMs: 5 })), /simulated compute is for ring steps/);
  replica.dispose();
});
