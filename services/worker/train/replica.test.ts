import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { parseLossOptions } from '../../core/loss/index.js';
import { Rng } from '../../core/random.js';
import { silentLogger } from '../../core/logging.js';
import { selectBackend } from '../backend/select-backend.js';
import { createModel } from '../models/index.js';
import { emptyEvalSums } from '../../core/training/loss-sums.js';
import { Replica } from './replica.js';
import { DEFAULT_CONFIDENCE_EDGES } from '../../core/training/confidence.js';

await selectBackend('wasm', silentLogger);
const SGD = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };

function batch(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  return { x: Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.nextGaussian()), y: Int32Array.from({ length: n }, (_, i) => i % 10) };
}

test('a training step leaks no tensors across 100 steps', () => {
  const replica = new Replica(createModel('cnn-small', { seed: 1 }), SGD);
  const { x, y } = batch(4, 1);
  const el = parseLossOptions('el');
  const step = () => {
    const { grads, stats } = replica.computeGradients(x, y, el, 1);
    replica.paramGradSplit(x, y, stats, grads, 0.5);
    replica.applyGradients(grads, 0.01);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) {
    step();
    assert.equal(tf.memory().numTensors, before, `after step ${i + 1}`);
  }
  const sums = emptyEvalSums(DEFAULT_CONFIDENCE_EDGES.length - 1);
  replica.evaluateBatch(x, y, el, 1, DEFAULT_CONFIDENCE_EDGES, sums);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(sums.examples, 4);
  assert.equal(sums.binExamples.reduce((a, b) => a + b, 0), 4);
  replica.model.dispose();
});

test('parameter-gradient split: all-high and all-low thresholds recover the full gradient', () => {
  const replica = new Replica(createModel('cnn-small', { seed: 2 }), SGD);
  const { x, y } = batch(6, 2);
  const { grads, stats } = replica.computeGradients(x, y, parseLossOptions('el-full'), 1);
  const full = Math.hypot(...grads);
  const allHigh = replica.paramGradSplit(x, y, stats, grads, 1e-9);
  assert.equal(allHigh.highExamples, 6);
  assert.ok(Math.abs(allHigh.high - full) < 1e-3 * full, `high ${allHigh.high} vs full ${full}`);
  assert.ok(allHigh.low < 1e-3 * full);
  const noneHigh = replica.paramGradSplit(x, y, stats, grads, 1 - 1e-9);
  assert.equal(noneHigh.highExamples, 0);
  assert.equal(noneHigh.high, 0);
  assert.ok(Math.abs(noneHigh.low - full) < 1e-3 * full);
  // A real split: both parts non-zero, and by the triangle inequality they bound the full norm.
  const probs = [...Array(6).keys()].map((i) => stats.logits.subarray(i * 10, i * 10 + 10));
  const py = probs.map((row, i) => Math.exp(row[y[i]!]!) / row.reduce((s, v) => s + Math.exp(v), 0)).sort();
  const mid = (py[2]! + py[3]!) / 2;
  const split = replica.paramGradSplit(x, y, stats, grads, mid);
  assert.equal(split.highExamples, 3);
  assert.ok(split.high > 0 && split.low > 0 && split.high + split.low >= full * (1 - 1e-4));
  replica.model.discardRunningStats();
  replica.model.dispose();
});

test('SGD through the replica lowers the loss on a fixed batch', () => {
  const replica = new Replica(createModel('cnn-small', { seed: 3 }), { momentum: 0.9, weightDecay: 0, nesterov: false });
  const { x, y } = batch(10, 3);
  const ce = parseLossOptions('ce');
  const first = replica.computeGradients(x, y, ce, 1);
  replica.applyGradients(first.grads, 0.05);
  let last = first.stats.loss;
  for (let i = 0; i < 30; i++) {
    const r = replica.computeGradients(x, y, ce, 1);
    replica.applyGradients(r.grads, 0.05);
    last = r.stats.loss;
  }
  assert.ok(last < first.stats.loss * 0.5, `loss ${first.stats.loss} → ${last}`);
  replica.model.dispose();
});
