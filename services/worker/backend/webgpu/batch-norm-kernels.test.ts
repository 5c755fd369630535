/**
 * The fused BatchNorm kernels:
 * - their cpu versions against the models' tf-ops BatchNorm (batchNormTraining, a customGrad with
 *   its own tests) composed with the residual add and ReLU, values and gradients via tf.grads, and
 *   the running statistics against PyTorch's rule — so the reference is not checked against itself;
 * - the webgpu kernels against the cpu versions on shapes that exercise every path: one and several
 *   row chunks and channel blocks, C not a multiple of 4 (scalar) and of 4 (vec4), ReLU, residual,
 *   a channel mean far above its spread (the shifted sums), and no tensor or GPU-buffer leak.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../core/random.js';
import '../../models/register-gradients.js';
import { batchNormTraining } from '../../models/layers/batch-norm.js';
import { webgpuForTests } from '../webgpu-test-support.js';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD } from './batch-norm-kernels.js';
import { planBatchNorm } from './batch-norm-wgsl.js';
import { registerCpuCounterparts } from './register-webgpu-kernels.js';
import { maxRelativeError } from '../relative-error.js';

registerCpuCounterparts();
const gpu = await webgpuForTests();
const skip = gpu.skip;
const EPS = 1e-5;
const MOMENTUM = 0.1;

function values(seed: number, n: number, offset = 0, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => offset + scale * rng.nextGaussian());
}


interface Case {
  readonly shape: [number, number, number, number];
  readonly relu: boolean;
  readonly residual: boolean;
  readonly offset?: number;
}

interface Data {
  x: Float32Array; gamma: Float32Array; beta: Float32Array; rm: Float32Array; rv: Float32Array; res: Float32Array; dy: Float32Array;
}

function data(c: Case, seed: number): Data {
  const [n, h, w, ch] = c.shape;
  const size = n * h * w * ch;
  return {
    x: values(seed, size, c.offset ?? 0.3, 1.7), gamma: values(seed + 1, ch, 1, 0.5), beta: values(seed + 2, ch, 0, 0.5),
    rm: values(seed + 3, ch, 0, 0.1), rv: values(seed + 4, ch, 1, 0.1).map(Math.abs), res: values(seed + 5, size), dy: values(seed + 6, size),
  };
}

/** Both fused kernels on the active backend; every output read back. */
async function runKernels(c: Case, d: Data): Promise<Float32Array[]> {
  const [, , , ch] = c.shape;
  const outs = tf.tidy(() => {
    const x = tf.tensor(d.x, c.shape);
    const inputs: tf.NamedTensorMap = { x, gamma: tf.tensor(d.gamma, [ch]), beta: tf.tensor(d.beta, [ch]), runningMean: tf.tensor(d.rm, [ch]), runningVar: tf.tensor(d.rv, [ch]) };
    if (c.residual) inputs['residual'] = tf.tensor(d.res, c.shape);
    const fwd = tf.engine().runKernel(BATCH_NORM_FORWARD, inputs, { eps: EPS, momentum: MOMENTUM, relu: c.relu } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    const [y, stats] = fwd as [tf.Tensor, tf.Tensor];
    const bwdInputs: tf.NamedTensorMap = { dy: tf.tensor(d.dy, c.shape), x, gamma: inputs['gamma']!, stats };
    if (c.relu) bwdInputs['y'] = y;
    const bwd = tf.engine().runKernel(BATCH_NORM_BACKWARD, bwdInputs, { relu: c.relu, residualGrad: c.residual } as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return [...fwd, ...bwd];
  });
  const result = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(outs);
  return result;
}

test('cpu BatchNorm kernels = the layers\' tf-ops BatchNorm (+ residual, ReLU), gradients by tf.grads, PyTorch running statistics', async () => {
  await tf.setBackend('cpu');
  for (const c of [{ shape: [2, 3, 3, 4], relu: true, residual: true }, { shape: [3, 2, 5, 3], relu: false, residual: false }] as Case[]) {
    const d = data(c, 7);
    const [, , , ch] = c.shape;
    const [y, stats, rm, rv, dx, dgamma, dbeta, dres] = await runKernels(c, d);
    const f = (...args: tf.Tensor[]) => {
      const [x, g, b, r] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor | undefined];
      let out: tf.Tensor = batchNormTraining(x, g, b, EPS);
      if (r !== undefined) out = tf.add(out, r);
      return c.relu ? tf.relu(out) : out;
    };
    const inputs = [tf.tensor(d.x, c.shape), tf.tensor(d.gamma, [ch]), tf.tensor(d.beta, [ch])];
    if (c.residual) inputs.push(tf.tensor(d.res, c.shape));
    const expectY = (await f(...inputs).data()) as Float32Array;
    const grads = tf.grads(f)(inputs, tf.tensor(d.dy, c.shape));
    const [ex, eg, eb, er] = await Promise.all(grads.map((t) => t.data()));
    assert.ok(maxRelativeError(y!, expectY) < 1e-6, 'y');
    assert.ok(maxRelativeError(dx!, ex!) < 1e-5, `dx ${maxRelativeError(dx!, ex!)}`);
    assert.ok(maxRelativeError(dgamma!, eg!) < 1e-5, 'dγ');
    assert.ok(maxRelativeError(dbeta!, eb!) < 1e-5, 'dβ');
    if (c.residual) assert.ok(maxRelativeError(dres!, er!) < 1e-6, 'residual gradient');
    // Closed forms of the statistics: mean, 1/sqrt(biased var + eps), PyTorch's running update with the unbiased variance.
    const m = d.x.length / ch;
    for (let k = 0; k < ch; k++) {
      const xs = d.x.filter((_, i) => i % ch === k);
      const mean = xs.reduce((s, v) => s + v, 0) / m;
      const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / m;
      assert.ok(Math.abs(stats![k]! - mean) < 1e-6);
      assert.ok(Math.abs(stats![ch + k]! - 1 / Math.sqrt(variance + EPS)) < 1e-5);
      assert.ok(Math.abs(rm![k]! - (0.9 * d.rm[k]! + 0.1 * mean)) < 1e-6);
      assert.ok(Math.abs(rv![k]! - (0.9 * d.rv[k]! + (0.1 * variance * m) / (m - 1))) < 1e-6);
    }
    tf.dispose([...inputs, ...grads]);
  }
});

test('BatchNorm plan: chunks cover the rows, channel blocks of at most 64', () => {
  for (const [rows, ch] of [[128, 16], [524288, 16], [32, 512], [7, 3]] as const) {
    const p = planBatchNorm(rows, ch);
    assert.ok(p.chunks * p.rowsPerChunk >= rows && (p.chunks - 1) * p.rowsPerChunk < rows);
    assert.ok(p.channelBlock <= 64 && p.channelBlock >= 1);
  }
  assert.ok(planBatchNorm(524288, 16).chunks > 100, 'a large batch spreads over many workgroups');
});

const CASES: readonly Case[] = [
  { shape: [2, 8, 8, 16], relu: true, residual: false },
  { shape: [2, 8, 8, 16], relu: true, residual: true },
  { shape: [3, 5, 7, 5], relu: false, residual: false },
  { shape: [2, 4, 4, 80], relu: true, residual: true },
  { shape: [2, 3, 3, 3], relu: false, residual: true, offset: 100 },
  { shape: [1, 3, 1, 4], relu: false, residual: false },
];

for (const [i, c] of CASES.entries()) {
  test(`webgpu BatchNorm kernels = cpu: [${c.shape.join('×')}] relu ${c.relu} residual ${c.residual}${c.offset === undefined ? '' : ` mean ${c.offset}`}`, { skip }, async () => {
    const d = data(c, 40 + i);
    await tf.setBackend('cpu');
    const cpu = await runKernels(c, d);
    await tf.setBackend('webgpu');
    const ours = await runKernels(c, d);
    const names = ['y', 'stats', 'runningMean', 'runningVar', 'dx', 'dγ', 'dβ', 'residual grad'];
    assert.equal(ours.length, cpu.length);
    for (const [k, out] of ours.entries()) {
      const err = maxRelativeError(out, cpu[k]!);
      assert.ok(err < 2e-5, `${names[k]} differs by ${err}`);
    }
  });
}

test('webgpu BatchNorm kernels: no tensor or GPU-buffer leak', { skip }, async () => {
  await tf.setBackend('webgpu');
  const c = CASES[1]!;
  const d = data(c, 90);
  await runKernels(c, d);
  const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  for (let k = 0; k < 3; k++) await runKernels(c, d);
  const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytesInGPU, before.numBytesInGPU);
});
