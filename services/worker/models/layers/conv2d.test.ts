import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '../register-gradients.js';
import { Rng } from '../../../core/random.js';
import { ConfigError } from '../../../core/errors.js';
import { ModuleBuilder } from '../module-builder.js';
import { Conv2d } from './conv2d.js';
import { Dense } from './dense.js';
import { kaimingUniformDefault, uniformValues } from './init.js';

await tf.setBackend('cpu');

function randn(rng: Rng, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => rng.nextGaussian()), shape);
}

test('PyTorch default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), seeded and reproducible', () => {
  const a = kaimingUniformDefault(new Rng(11), 20000, 27);
  const b = kaimingUniformDefault(new Rng(11), 20000, 27);
  const c = kaimingUniformDefault(new Rng(12), 20000, 27);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  const bound = 1 / Math.sqrt(27);
  let min = Infinity, max = -Infinity, sum = 0, sq = 0;
  for (const v of a) { min = Math.min(min, v); max = Math.max(max, v); sum += v; sq += v * v; }
  assert.ok(min >= -bound && max <= bound);
  assert.ok(max > 0.99 * bound && min < -0.99 * bound, 'fills the whole interval');
  assert.ok(Math.abs(sum / a.length) < 0.01 * bound, 'zero mean');
  // Var of U(-b, b) is b²/3.
  assert.ok(Math.abs(sq / a.length - (bound * bound) / 3) < 0.03 * (bound * bound) / 3, 'uniform variance');
  assert.throws(() => uniformValues(new Rng(1), -1, 1), ConfigError);
  assert.throws(() => kaimingUniformDefault(new Rng(1), 4, 0), ConfigError);
});

test('Conv2d: shapes, no bias by default, weight decay flag, init bound from in·k·k', () => {
  const builder = ModuleBuilder.create(3);
  const conv = new Conv2d(builder, 'conv', { inChannels: 4, outChannels: 6, kernelSize: 3, stride: 1, padding: 1 });
  const biased = new Conv2d(builder, 'convb', { inChannels: 2, outChannels: 3, kernelSize: 1, bias: true });
  const model = builder.build('t', { channels: 4 }, (x) => tf.mean(conv.apply(x), [1, 2]) as tf.Tensor2D);
  assert.deepEqual(model.params.map((p) => [p.name, p.variable.shape, p.weightDecay]), [
    ['conv.weight', [3, 3, 4, 6], true],
    ['convb.weight', [1, 1, 2, 3], true],
    ['convb.bias', [3], false],
  ]);
  const bound = 1 / Math.sqrt(36);
  assert.ok(Array.from(conv.weight.dataSync()).every((v) => Math.abs(v) <= bound));
  assert.ok(Array.from(biased.bias!.dataSync()).every((v) => Math.abs(v) <= 1 / Math.sqrt(2)));
  assert.equal(conv.bias, null);
  assert.throws(() => new Conv2d(builder, 'bad', { inChannels: 0, outChannels: 1, kernelSize: 3 }), ConfigError);
  assert.throws(() => new Conv2d(builder, 'conv', { inChannels: 1, outChannels: 1, kernelSize: 1 }), /registered twice/);
  model.dispose();
});

test('Conv2d stride 2, padding 1 samples like PyTorch (symmetric pad), not like tf "same"', () => {
  const builder = ModuleBuilder.create(4);
  const conv = new Conv2d(builder, 'conv', { inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, padding: 1 });
  const rng = new Rng(5);
  tf.tidy(() => {
    const x = randn(rng, [2, 8, 8, 2]) as tf.Tensor4D;
    const y = conv.apply(x);
    assert.deepEqual(y.shape, [2, 4, 4, 3]);
    // PyTorch: zero-pad one pixel on every side, then a 'valid' strided convolution.
    const padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const reference = tf.conv2d(padded, conv.weight, 2, 'valid');
    assert.ok(tf.max(tf.abs(tf.sub(y, reference))).dataSync()[0]! < 1e-5);
    const same = tf.conv2d(x, conv.weight, 2, 'same');
    assert.ok(tf.max(tf.abs(tf.sub(y, same))).dataSync()[0]! > 1e-3, 'tf "same" would shift the grid');
    // Odd input: floor((7 + 2 − 3)/2) + 1 = 4, as PyTorch.
    assert.deepEqual(conv.apply(randn(rng, [1, 7, 7, 2]) as tf.Tensor4D).shape, [1, 4, 4, 3]);
  });
  builder.disposeAll();
});

test('Conv2d stride 2 gradients match finite differences (weights and input)', () => {
  const builder = ModuleBuilder.create(6);
  const conv = new Conv2d(builder, 'conv', { inChannels: 2, outChannels: 2, kernelSize: 3, stride: 2, padding: 1 });
  const rng = new Rng(8);
  const x = randn(rng, [1, 6, 6, 2]) as tf.Tensor4D;
  const r = randn(rng, [1, 3, 3, 2]);
  const lossAt = (w: tf.Tensor, input: tf.Tensor): number =>
    tf.tidy(() => tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, w as tf.Tensor4D, 2, 1), r)).dataSync()[0]!);
  const [gx, gw] = tf.grads((input: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(input as tf.Tensor4D, w as tf.Tensor4D, 2, 1), r)))([x, conv.weight]);
  const h = 1e-2;
  const wv = conv.weight.dataSync().slice();
  const xv = x.dataSync().slice();
  for (const i of [0, 5, 20, 35]) {
    const wp = wv.slice(); wp[i]! += h;
    const wm = wv.slice(); wm[i]! -= h;
    const fd = tf.tidy(() => (lossAt(tf.tensor(wp, conv.weight.shape), x) - lossAt(tf.tensor(wm, conv.weight.shape), x)) / (2 * h));
    assert.ok(Math.abs(fd - gw!.dataSync()[i]!) < 1e-2, `dW[${i}]`);
  }
  for (const i of [0, 13, 40, 71]) {
    const xp = xv.slice(); xp[i]! += h;
    const xm = xv.slice(); xm[i]! -= h;
    const fd = tf.tidy(() => (lossAt(conv.weight, tf.tensor(xp, x.shape)) - lossAt(conv.weight, tf.tensor(xm, x.shape))) / (2 * h));
    assert.ok(Math.abs(fd - gx!.dataSync()[i]!) < 1e-2, `dx[${i}]`);
  }
  tf.dispose([x, r, gx!, gw!]);
  builder.disposeAll();
});

test('Dense: [in, out] weight, bias, PyTorch bounds, forward is x·W + b', () => {
  const builder = ModuleBuilder.create(9);
  const dense = new Dense(builder, 'linear', 5, 3);
  const model = builder.build('t', { channels: 5 }, (x) => dense.apply(tf.reshape(x, [x.shape[0], 5])));
  assert.deepEqual(model.params.map((p) => [p.name, p.variable.shape, p.weightDecay]), [
    ['linear.weight', [5, 3], true],
    ['linear.bias', [3], false],
  ]);
  const bound = 1 / Math.sqrt(5);
  assert.ok(Array.from(dense.weight.dataSync()).every((v) => Math.abs(v) <= bound));
  assert.ok(Array.from(dense.bias.dataSync()).every((v) => Math.abs(v) <= bound));
  tf.tidy(() => {
    const x = tf.tensor2d([[1, 0, 0, 0, 0], [0, 0, 0, 0, 2]]);
    const y = dense.apply(x).arraySync();
    const w = dense.weight.arraySync();
    const b = dense.bias.arraySync();
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(y[0]![j]! - (w[0]![j]! + b[j]!)) < 1e-6);
      assert.ok(Math.abs(y[1]![j]! - (2 * w[4]![j]! + b[j]!)) < 1e-6);
    }
  });
  model.dispose();
});
