/**
 * The training step on the `webgpu` backend (Dawn over Vulkan; Mesa's lavapipe in CI):
 * - a whole step of every model, every kernel it dispatches recomputed on `cpu` from the same inputs;
 * - whole-step gradients and the update of cnn-small against the `cpu` backend (rel 1e-4);
 * - no tensor and no GPU-buffer leak over 50 steps (local and ring steps, evaluation);
 * - nothing on the way reads synchronously (`dataSync` throws on a GPU tensor in Node).
 * Skipped only on a machine without any Vulkan adapter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { parseLossOptions } from '../../core/loss/index.js';
import { Rng } from '../../core/random.js';
import { DEFAULT_CONFIDENCE_EDGES } from '../../core/training/confidence.js';
import { emptyEvalSums } from '../../core/training/loss-sums.js';
import { MODEL_NAMES } from '../../core/training/names.js';
import { KernelAudit } from '../backend/kernel-audit.js';
import { webgpuForTests } from '../backend/webgpu-test-support.js';
import { createModel, flattenParams } from '../models/index.js';
import { Replica, type GradientExchange, type StepInput } from './replica.js';

const gpu = await webgpuForTests();
const skip = gpu.skip;
const SGD = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };
/** Per-kernel agreement with cpu: float32 with another summation order. */
const KERNEL_REL_TOLERANCE = 1e-4;

function batch(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  return { x: Float32Array.from({ length: n * 32 * 32 * 3 }, () => rng.nextGaussian()), y: Int32Array.from({ length: n }, (_, i) => (i * 7) % 10) };
}

function input(x: Float32Array, y: Int32Array, over: Partial<StepInput> = {}): StepInput {
  return { x, labels: y, loss: parseLossOptions('el'), epoch: 1, lr: 0.05, splitThreshold: null, ...over };
}

function capture(): GradientExchange & { seen: Float32Array[] } {
  const seen: Float32Array[] = [];
  return { share: 1, seen, leaving: () => false, allReduce: async (b) => void seen.push(Float32Array.from(b)) };
}

/** Fail the test if anything reads a GPU tensor synchronously. */
function forbidSyncReads(): () => void {
  const proto = tf.Tensor.prototype as unknown as Record<string, unknown>;
  const saved = { dataSync: proto['dataSync'], arraySync: proto['arraySync'] };
  const refuse = (what: string) => () => {
    throw new Error(`${what} called on the webgpu training path`);
  };
  proto['dataSync'] = refuse('dataSync');
  proto['arraySync'] = refuse('arraySync');
  return () => Object.assign(proto, saved);
}

for (const model of MODEL_NAMES) {
  test(`webgpu: a whole ${model} step, every kernel recomputed on cpu from the same inputs`, { skip }, async () => {
    await tf.setBackend('webgpu');
    const replica = new Replica(createModel(model, { seed: 1 }), SGD, 200_000);
    const { x, y } = batch(2, 1);
    const audit = KernelAudit.install('webgpu');
    const restore = forbidSyncReads();
    try {
      await replica.step(input(x, y, { splitThreshold: 0.3 }), capture());
    } finally {
      restore();
      audit.uninstall();
    }
    const recorded = audit.size;
    const report = await audit.check(KERNEL_REL_TOLERANCE);
    const worst = report.mismatches.slice(0, 5).map((m) => `${m.kernelName}#${m.call} [${m.inputShapes.map((s) => s.join('x')).join(', ')}]: ${m.detail}`);
    assert.deepEqual(worst, [], `${report.mismatches.length} of ${recorded} kernel calls differ from cpu`);
    assert.ok(report.calls.has('Conv2DBackpropFilter') || model === 'cnn-nobn' || report.calls.has('Conv2D'), 'the audit saw the convolutions');
    replica.dispose();
  });
}

test('webgpu: cnn-small whole-step gradients and update match the cpu backend', { skip }, async () => {
  const { x, y } = batch(8, 2);
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const replica = new Replica(createModel('cnn-small', { seed: 2 }), SGD, 4000);
    const exchange = capture();
    const results = [];
    for (let i = 0; i < 2; i++) {
      exchange.seen.length = 0;
      results.push(await replica.step(input(x, y, { splitThreshold: 0.2 }), exchange));
    }
    const out = { grads: exchange.seen.map((b) => b), results, params: await flattenParams(replica.model) };
    replica.dispose();
    return out;
  };
  const cpu = await run('cpu');
  const gpuRun = await run('webgpu');
  const rel = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let d = 0;
    let n = 0;
    for (let i = 0; i < b.length; i++) {
      d += (a[i]! - b[i]!) ** 2;
      n += b[i]! ** 2;
    }
    return Math.sqrt(d / n);
  };
  assert.equal(gpuRun.grads.length, cpu.grads.length);
  for (const [b, g] of gpuRun.grads.entries()) assert.ok(rel(g, cpu.grads[b]!) < 1e-4, `bucket ${b}: gradient differs by ${rel(g, cpu.grads[b]!)}`);
  assert.ok(rel(gpuRun.params, cpu.params) < 1e-4, `parameters after 2 steps differ by ${rel(gpuRun.params, cpu.params)}`);
  for (const [i, r] of gpuRun.results.entries()) {
    const c = cpu.results[i]!;
    assert.ok(Math.abs(r.stats!.loss - c.stats!.loss) < 1e-4 * Math.abs(c.stats!.loss), `step ${i + 1} loss ${r.stats!.loss} vs ${c.stats!.loss}`);
    assert.ok(rel(r.stats!.gradLogits, c.stats!.gradLogits) < 1e-4, 'logit gradients');
    assert.equal(r.split!.highExamples, c.split!.highExamples);
    assert.ok(Math.abs(r.split!.high - c.split!.high) <= 1e-4 * (c.split!.high + c.split!.low), 'split norms');
  }
});

test('webgpu: no tensor or GPU-buffer leak over 50 steps and evaluation; the loss goes down', { skip }, async () => {
  await tf.setBackend('webgpu');
  const replica = new Replica(createModel('cnn-small', { seed: 3 }), { momentum: 0.9, weightDecay: 0, nesterov: false }, 5000);
  const { x, y } = batch(8, 3);
  const ce = parseLossOptions('ce');
  const sums = emptyEvalSums(DEFAULT_CONFIDENCE_EDGES.length - 1);
  const one = async (i: number) => {
    const r = await replica.step(input(x, y, { loss: ce, splitThreshold: i % 10 === 0 ? 0.5 : null }), i % 2 === 0 ? null : capture());
    if (i % 5 === 0) await replica.evaluateBatch(x, y, ce, 1, DEFAULT_CONFIDENCE_EDGES, sums);
    return r.stats!.loss;
  };
  const first = await one(0);
  for (let i = 1; i < 10; i++) await one(i);
  await replica.settle();
  const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  let last = first;
  for (let i = 10; i < 60; i++) last = await one(i);
  await replica.settle();
  const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  assert.equal(after.numTensors, before.numTensors, 'tensors');
  assert.equal(typeof after.numBytesInGPU, 'number');
  assert.equal(after.numBytesInGPU, before.numBytesInGPU, 'bytes of GPU buffers in use');
  assert.ok(last < first * 0.5, `loss ${first} → ${last}`);
  replica.dispose();
});
