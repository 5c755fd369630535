import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../core/random.js';
import { gradsInParamOrder } from './flat-params.js';
import { ModelInputError } from './model-errors.js';
import { createModel } from './registry.js';

// Gradients through convs need Conv2DBackpropFilter, which stock wasm lacks: use cpu, small batches.
await tf.setBackend('cpu');

function batch(seed: number, n: number): { x: tf.Tensor4D; labels: tf.Tensor2D } {
  const rng = new Rng(seed);
  const x = tf.tensor4d(Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.nextGaussian()), [n, 32, 32, 3]);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: n }, () => rng.nextInt(10)), 'int32'), 10).toFloat() as tf.Tensor2D;
  return { x, labels };
}

const crossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar => tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;

test('cnn-small gradients match central finite differences (training-mode BN)', () => {
  const model = createModel('cnn-small', { seed: 3 });
  const { x, labels } = batch(1, 4);
  const lossValue = (): number => tf.tidy(() => crossEntropy(model.apply(x, true), labels).dataSync()[0]!);
  const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(x, true), labels), model.params.map((p) => p.variable));
  const analytic = gradsInParamOrder(model, grads).map((g) => g.dataSync().slice());
  tf.dispose([value, ...Object.values(grads)]);

  // Probe, in several params, the entry with the largest gradient (relative error is meaningful there).
  const h = 2e-3;
  for (const name of ['conv1.weight', 'bn1.weight', 'conv2.weight', 'bn2.bias', 'linear.weight', 'linear.bias']) {
    const i = model.params.findIndex((p) => p.name === name);
    const p = model.params[i]!;
    const g = analytic[i]!;
    let j = 0;
    for (let k = 1; k < g.length; k++) if (Math.abs(g[k]!) > Math.abs(g[j]!)) j = k;
    assert.ok(Math.abs(g[j]!) > 1e-4, `${name}: gradient must not vanish`);
    const original = p.variable.dataSync().slice();
    const at = (delta: number): number => {
      const v = original.slice();
      v[j]! += delta;
      tf.tidy(() => p.variable.assign(tf.tensor(v, p.variable.shape)));
      return lossValue();
    };
    const fd = (at(h) - at(-h)) / (2 * h);
    tf.tidy(() => p.variable.assign(tf.tensor(original, p.variable.shape)));
    assert.ok(Math.abs(fd - g[j]!) < 0.03 * Math.abs(g[j]!) + 1e-4, `${name}[${j}]: fd ${fd} vs analytic ${g[j]}`);
  }
  model.discardRunningStats();
  model.dispose();
  tf.dispose([x, labels]);
});

test('a training step (forward + variableGrads + SGD + running-stat update) leaks no tensors', () => {
  const model = createModel('cnn-small', { seed: 4 });
  const { x, labels } = batch(2, 4);
  const before = tf.memory().numTensors;
  const losses: number[] = [];
  // Few, small steps: the cpu backend's Conv2DBackpropFilter is slow (~1 s per step here).
  for (let step = 0; step < 4; step++) {
    const { value, grads } = tf.variableGrads(() => crossEntropy(model.apply(x, true), labels), model.params.map((p) => p.variable));
    losses.push(value.dataSync()[0]!);
    tf.tidy(() => {
      for (const p of model.params) p.variable.assign(tf.sub(p.variable, tf.mul(grads[p.variable.name]!, 0.002)));
    });
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(model.updateRunningStats(), 3);
    assert.equal(tf.memory().numTensors, before, `after step ${step}`);
  }
  // The steps did something: memorising one batch lowers its loss monotonically at this step size
  for (let s = 1; s < 4; s++) assert.ok(losses[s]! < losses[s - 1]!, `losses ${losses.join(' → ')}`);
  model.dispose();
  tf.dispose([x, labels]);
});

test('running statistics: updated from training batches, used (only) in eval mode', () => {
  const model = createModel('cnn-small', { seed: 5 });
  const { x, labels } = batch(3, 4);
  const buffer = (name: string): Float32Array => model.buffers.find((b) => b.name === name)!.variable.dataSync().slice() as Float32Array;
  const logits = (training: boolean): Float32Array =>
    tf.tidy(() => {
      const out = model.apply(x, training).dataSync().slice() as Float32Array;
      if (training) model.discardRunningStats();
      return out;
    });

  const evalBefore = logits(false);
  const trainBefore = logits(true);
  assert.deepEqual(buffer('bn1.running_mean'), new Float32Array(16));

  // bn1's batch mean is the per-channel mean of conv1(x); the update moves 10% of the way to it.
  const conv1 = model.params.find((p) => p.name === 'conv1.weight')!.variable as tf.Variable<tf.Rank.R4>;
  const expectedMean = tf.tidy(() => tf.mean(tf.conv2d(x, conv1, 1, 1), [0, 1, 2]).dataSync().slice());
  tf.dispose(model.apply(x, true));
  model.updateRunningStats();
  const rm = buffer('bn1.running_mean');
  for (let c = 0; c < 16; c++) assert.ok(Math.abs(rm[c]! - 0.1 * expectedMean[c]!) < 1e-5, `running_mean[${c}]`);
  assert.ok(buffer('bn2.running_var').some((v) => Math.abs(v - 1) > 1e-3), 'bn2 running_var moved');

  const evalAfter = logits(false);
  const trainAfter = logits(true);
  assert.notDeepEqual(evalAfter, evalBefore, 'eval mode reads the running statistics');
  assert.deepEqual(trainAfter, trainBefore, 'training mode ignores them (batch statistics)');
  // Eval mode is per-example: a sample's logits do not depend on the rest of the batch.
  const single = tf.tidy(() => model.apply(tf.slice(x, [0, 0, 0, 0], [1, 32, 32, 3]), false).dataSync().slice());
  for (let j = 0; j < 10; j++) assert.ok(Math.abs(single[j]! - evalAfter[j]!) < 1e-4);
  model.dispose();
  tf.dispose([x, labels]);
});

test('cnn-small rejects inputs that are not float32 [N, 32, 32, 3]', () => {
  const model = createModel('cnn-small', { seed: 6 });
  for (const bad of [tf.zeros([1, 28, 28, 3]), tf.zeros([1, 32, 32, 1]), tf.zeros([1, 32, 32, 3], 'int32')]) {
    assert.throws(() => model.apply(bad as tf.Tensor4D, false), ModelInputError);
    bad.dispose();
  }
  assert.equal(model.hasPendingRunningStats, false);
  model.dispose();
});
