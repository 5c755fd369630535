import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../register-gradients.js';
import { Rng } from '../../../core/random.js';
import { ModuleBuilder } from '../module-builder.js';
import { ModelInputError } from '../model-errors.js';
import { BN_EPSILON, BatchNorm2d, batchNormInference, batchNormTraining } from './batch-norm.js';

await tf.setBackend('cpu');

function randn(rng: Rng, shape: number[], scale = 1, offset = 0): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = offset + scale * rng.nextGaussian();
  return tf.tensor(v, shape);
}

/** The textbook formula, differentiated by tfjs's autodiff (tf.moments, tf.sub, …). */
function naiveBatchNorm(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, BN_EPSILON))), gamma), beta) as tf.Tensor4D;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

// Shapes chosen so that N·H·W is not a power of two and the wide view uses k ∉ {1, M}.
const SHAPES: Array<[number, number, number, number]> = [
  [4, 6, 6, 8],
  [3, 5, 7, 3],
  [2, 1, 1, 5],
];

test('training forward matches the textbook formula (biased variance, eps 1e-5)', () => {
  const rng = new Rng(1);
  for (const shape of SHAPES) {
    tf.tidy(() => {
      const c = shape[3];
      const x = randn(rng, shape, 2, 3) as tf.Tensor4D;
      const gamma = randn(rng, [c], 0.5, 1) as tf.Tensor1D;
      const beta = randn(rng, [c]) as tf.Tensor1D;
      const got = batchNormTraining(x, gamma, beta);
      assert.deepEqual(got.shape, shape);
      assert.ok(maxAbsDiff(got, naiveBatchNorm(x, gamma, beta)) < 1e-4, `shape ${shape}`);
    });
  }
});

test('custom gradient equals tf autodiff of the naive formula for x, gamma and beta', () => {
  const rng = new Rng(2);
  for (const shape of SHAPES) {
    tf.tidy(() => {
      const c = shape[3];
      const x = randn(rng, shape, 1.5, -0.5) as tf.Tensor4D;
      const gamma = randn(rng, [c], 0.5, 1) as tf.Tensor1D;
      const beta = randn(rng, [c]) as tf.Tensor1D;
      const r = randn(rng, shape); // random upstream gradient
      const lossOf = (f: typeof naiveBatchNorm) => (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(f(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D), r));
      const custom = tf.grads(lossOf(batchNormTraining))([x, gamma, beta]);
      const reference = tf.grads(lossOf(naiveBatchNorm))([x, gamma, beta]);
      for (let i = 0; i < 3; i++) {
        const scale = tf.tidy(() => tf.max(tf.abs(reference[i]!)).dataSync()[0]!);
        assert.ok(scale > 1e-3, 'reference gradient must not vanish');
        const diff = maxAbsDiff(custom[i]!, reference[i]!);
        assert.ok(diff < 1e-4 * Math.max(1, scale), `shape ${shape} input ${i}: max diff ${diff}`);
      }
    });
  }
});

test('custom gradient matches central finite differences', () => {
  const rng = new Rng(3);
  const shape: [number, number, number, number] = [3, 4, 5, 4];
  const xv = randn(rng, shape);
  const gv = randn(rng, [4], 0.5, 1);
  const bv = randn(rng, [4]);
  const r = randn(rng, shape);
  const inputs = [xv.dataSync().slice(), gv.dataSync().slice(), bv.dataSync().slice()] as Float32Array[];
  const loss = (vals: Float32Array[]): number =>
    tf.tidy(() => {
      const y = batchNormTraining(
        tf.tensor4d(vals[0]!, shape),
        tf.tensor1d(vals[1]!),
        tf.tensor1d(vals[2]!),
      );
      return tf.sum(tf.mul(y, r)).dataSync()[0]!;
    });
  const analytic = tf.tidy(() =>
    tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D), r)))([xv, gv, bv]).map((t) => t.dataSync().slice()),
  );
  const h = 1e-2;
  const probes: Array<[number, number]> = [[0, 0], [0, 17], [0, 123], [0, 239], [1, 0], [1, 3], [2, 1], [2, 2]];
  for (const [which, index] of probes) {
    const plus = inputs.map((a) => a.slice());
    const minus = inputs.map((a) => a.slice());
    plus[which]![index]! += h;
    minus[which]![index]! -= h;
    const fd = (loss(plus) - loss(minus)) / (2 * h);
    const an = analytic[which]![index]!;
    assert.ok(Math.abs(fd - an) < 2e-2 * Math.max(1, Math.abs(an)), `input ${which}[${index}]: fd ${fd} vs analytic ${an}`);
  }
  tf.dispose([xv, gv, bv, r]);
});

test('inference mode uses the given running statistics', () => {
  tf.tidy(() => {
    const rng = new Rng(4);
    const x = randn(rng, [2, 3, 3, 4]) as tf.Tensor4D;
    const gamma = tf.tensor1d([1, 2, 0.5, -1]);
    const beta = tf.tensor1d([0, 1, -1, 2]);
    const rm = tf.tensor1d([0.1, -0.2, 0.3, 0]);
    const rv = tf.tensor1d([1, 4, 0.25, 2]);
    const expected = tf.add(tf.mul(tf.div(tf.sub(x, rm), tf.sqrt(tf.add(rv, BN_EPSILON))), gamma), beta);
    assert.ok(maxAbsDiff(batchNormInference(x, gamma, beta, rm, rv), expected) < 1e-5);
  });
});

test('BatchNorm2d: PyTorch defaults, pending stats, momentum-0.1 update with unbiased variance', () => {
  const builder = ModuleBuilder.create(0);
  const bn = new BatchNorm2d(builder, 'bn', 3);
  const model = builder.build('bn-only', { channels: 3 }, (x, training) => tf.mean(bn.apply(x, training), [1, 2]) as tf.Tensor2D);
  assert.deepEqual(model.params.map((p) => [p.name, p.weightDecay]), [['bn.weight', false], ['bn.bias', false]]);
  assert.deepEqual(model.buffers.map((b) => b.name), ['bn.running_mean', 'bn.running_var']);
  assert.deepEqual(Array.from(bn.weight.dataSync()), [1, 1, 1]);
  assert.deepEqual(Array.from(bn.bias.dataSync()), [0, 0, 0]);
  assert.deepEqual(Array.from(bn.runningMean.dataSync()), [0, 0, 0]);
  assert.deepEqual(Array.from(bn.runningVar.dataSync()), [1, 1, 1]);

  const rng = new Rng(5);
  const x = randn(rng, [2, 2, 2, 3], 2, 1) as tf.Tensor4D;
  const data = x.dataSync();
  const m = 8;
  const mean = [0, 1, 2].map((c) => { let s = 0; for (let i = 0; i < m; i++) s += data[i * 3 + c]!; return s / m; });
  const unbiased = [0, 1, 2].map((c) => { let s = 0; for (let i = 0; i < m; i++) s += (data[i * 3 + c]! - mean[c]!) ** 2; return s / (m - 1); });

  const before = tf.memory().numTensors;
  tf.dispose(model.apply(x, true));
  assert.equal(model.hasPendingRunningStats, true);
  assert.deepEqual(Array.from(bn.runningMean.dataSync()), [0, 0, 0], 'buffers change only on updateRunningStats');
  assert.equal(model.updateRunningStats(), 1);
  assert.equal(model.hasPendingRunningStats, false);
  assert.equal(model.updateRunningStats(), 0, 'nothing pending the second time');
  assert.equal(tf.memory().numTensors, before, 'pending tensors released');
  const rmean = bn.runningMean.dataSync();
  const rvar = bn.runningVar.dataSync();
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(rmean[c]! - 0.1 * mean[c]!) < 1e-5, `running_mean[${c}]`);
    assert.ok(Math.abs(rvar[c]! - (0.9 + 0.1 * unbiased[c]!)) < 1e-5, `running_var[${c}]`);
  }

  // A training apply followed by discard leaves the buffers alone; eval apply records nothing.
  tf.dispose(model.apply(x, true));
  model.discardRunningStats();
  tf.dispose(model.apply(x, false));
  assert.equal(model.hasPendingRunningStats, false);
  assert.equal(model.updateRunningStats(), 0);
  assert.deepEqual(bn.runningMean.dataSync(), rmean);
  assert.equal(tf.memory().numTensors, before);
  model.dispose();
  x.dispose();
});

test('BatchNorm2d: pending stats survive tf.variableGrads and the step leaks nothing', () => {
  const builder = ModuleBuilder.create(0);
  const bn = new BatchNorm2d(builder, 'bn', 2);
  const model = builder.build('bn-only', { channels: 2 }, (x, training) => tf.mean(bn.apply(x, training), [1, 2]) as tf.Tensor2D);
  const x = tf.tensor4d([1, 2, 3, 5, -1, 0, 4, 4], [2, 2, 1, 2]);
  const r = tf.tensor2d([[1, -2], [0.5, 3]]);
  const before = tf.memory().numTensors;
  for (let step = 0; step < 3; step++) {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(x, true), r)) as tf.Scalar, model.params.map((p) => p.variable));
    assert.equal(model.hasPendingRunningStats, true);
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(model.updateRunningStats(), 1);
    assert.equal(tf.memory().numTensors, before, `step ${step}`);
  }
  // Channel 0 values 1,3,-1,4: mean 1.75; after 3 updates running_mean = (1 − 0.9³)·1.75.
  assert.ok(Math.abs(bn.runningMean.dataSync()[0]! - (1 - 0.9 ** 3) * 1.75) < 1e-5);
  model.dispose();
  tf.dispose([x, r]);
});

test('BatchNorm2d rejects a single value per channel in training mode, as PyTorch', () => {
  const builder = ModuleBuilder.create(0);
  const bn = new BatchNorm2d(builder, 'bn', 2);
  const x = tf.ones([1, 1, 1, 2]) as tf.Tensor4D;
  assert.throws(() => bn.apply(x, true), ModelInputError);
  tf.tidy(() => assert.deepEqual(bn.apply(x, false).shape, [1, 1, 1, 2]));
  builder.disposeAll();
  x.dispose();
});
