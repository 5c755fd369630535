/**
 * webgpu's fused training path against the engine's autodiff of the tf-ops layers on the cpu
 * backend: gradients of every parameter, the output, and BatchNorm's running statistics after
 * `updateRunningStats`, for a small ResNet with an identity and a projection shortcut (residual
 * BatchNorm, conv dx + addend, stride 2), cnn-small (max pooling, BatchNorm + ReLU) and cnn-nobn
 * (conv bias, standalone ReLU). The per-kernel audit (webgpu-step.test.ts) cannot catch a gradient
 * routed to the wrong tensor — every kernel would still be right about its own inputs — this can.
 * Also: an op outside the layers in a fused forward is refused, and nothing leaks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../core/random.js';
import { webgpuForTests } from '../../backend/webgpu-test-support.js';
import { createModel, type Model } from '../index.js';
import { ModuleBuilder } from '../module-builder.js';
import { createResNet } from '../resnet.js';
import { Dense } from './dense.js';
import { fusedTrainingAvailable } from './fused-tape.js';
import { globalAvgPool } from './functional.js';
import { maxRelativeError } from '../../backend/relative-error.js';

const gpu = await webgpuForTests();
const skip = gpu.skip;

const TINY_RESNET = { stemChannels: 4, stages: [{ planes: 4, blocks: 1, stride: 1 }, { planes: 8, blocks: 1, stride: 2 }] };

function makeModel(name: string): Model {
  return name === 'tiny-resnet' ? createResNet(name, TINY_RESNET, 5, 3) : createModel(name as 'cnn-small', { seed: 3, numClasses: 5 });
}

interface StepResult {
  readonly logits: Float32Array;
  readonly grads: Float32Array[];
  readonly buffers: Float32Array[];
}

/** One training-mode forward/backward of Σ logits·w, then the running-statistics update; everything read back. */
async function step(backend: string, name: string, side: number, batch: number): Promise<StepResult> {
  await tf.setBackend(backend);
  const model = makeModel(name);
  const rng = new Rng(17);
  const x = tf.tensor4d(Float32Array.from({ length: batch * side * side * 3 }, () => rng.nextGaussian()), [batch, side, side, 3]);
  const w = tf.tensor2d(Float32Array.from({ length: batch * 5 }, () => rng.nextGaussian()), [batch, 5]);
  let logits: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, true);
    logits = tf.keep(out.clone());
    return tf.sum(tf.mul(out, w)) as tf.Scalar;
  }, model.params.map((p) => p.variable));
  assert.equal(model.hasPendingRunningStats, model.buffers.length > 0);
  model.updateRunningStats();
  assert.equal(model.hasPendingRunningStats, false);
  const ordered = model.params.map((p) => grads[p.variable.name]!);
  const result = {
    logits: (await logits!.data()) as Float32Array,
    grads: (await Promise.all(ordered.map((g) => g.data()))) as Float32Array[],
    buffers: (await Promise.all(model.buffers.map((b) => b.variable.data()))) as Float32Array[],
  };
  tf.dispose([x, w, value, logits!, ...ordered]);
  model.dispose();
  return result;
}


for (const [name, side, batch] of [['tiny-resnet', 8, 3], ['cnn-small', 32, 2], ['cnn-nobn', 32, 2]] as const) {
  test(`webgpu fused training path = cpu autodiff: ${name} (batch ${batch}, ${side}×${side})`, { skip }, async () => {
    const cpu = await step('cpu', name, side, batch);
    await tf.setBackend('webgpu');
    assert.ok(fusedTrainingAvailable(), 'the fused path is what webgpu runs');
    const ours = await step('webgpu', name, side, batch);
    assert.ok(maxRelativeError(ours.logits, cpu.logits) < 1e-5, `logits differ by ${maxRelativeError(ours.logits, cpu.logits)}`);
    assert.equal(ours.grads.length, cpu.grads.length);
    for (const [i, g] of ours.grads.entries()) {
      const err = maxRelativeError(g, cpu.grads[i]!);
      assert.ok(err < 1e-4, `gradient of parameter ${i} differs by ${err}`);
    }
    for (const [i, b] of ours.buffers.entries()) assert.ok(maxRelativeError(b, cpu.buffers[i]!) < 1e-5, `buffer ${i} differs by ${maxRelativeError(b, cpu.buffers[i]!)}`);
  });
}

test('webgpu fused path: an op between layers that the tape does not know is refused', { skip }, async () => {
  await tf.setBackend('webgpu');
  const builder = ModuleBuilder.create(1);
  const dense = new Dense(builder, 'linear', 3, 2);
  const model = builder.build('bad', { channels: 3 }, (x) => dense.apply(tf.mul(globalAvgPool(x), 2)));
  const x = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
  assert.throws(() => tf.variableGrads(() => tf.sum(model.apply(x, true)) as tf.Scalar, model.params.map((p) => p.variable)), /not produced by a recorded layer/);
  model.discardRunningStats();
  x.dispose();
  model.dispose();
});

test('webgpu fused path: no tensor or GPU-buffer leak over steps, forward-only passes and abandoned passes', { skip }, async () => {
  await tf.setBackend('webgpu');
  const model = makeModel('tiny-resnet');
  const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
  const vars = model.params.map((p) => p.variable);
  const once = () => {
    const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(x, true)) as tf.Scalar, vars);
    tf.dispose([value, ...Object.values(grads)]);
    model.updateRunningStats();
    tf.tidy(() => {
      model.apply(x, true); // forward only: the tape waits for a backward that never comes
    });
    model.discardRunningStats();
  };
  // A fresh device read: the queue is submitted and buffers released only when something waits on it.
  const settle = async () => {
    const probe = tf.tidy(() => tf.add(tf.slice(tf.reshape(model.params[0]!.variable, [-1]), 0, 1), 1));
    await probe.data();
    probe.dispose();
  };
  once();
  await settle();
  const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  for (let i = 0; i < 3; i++) once();
  await settle();
  const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  assert.equal(after.numTensors, before.numTensors, 'tensors');
  assert.equal(after.numBytesInGPU, before.numBytesInGPU, 'bytes of GPU buffers in use');
  x.dispose();
  model.dispose();
});
