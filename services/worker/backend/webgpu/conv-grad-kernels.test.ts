/**
 * The webgpu convolution kernels (Conv2D and both gradients) against the cpu backend's, on small
 * shapes (lavapipe in CI), under both GEMM tilings (4 × 4 and 8 × 8 per thread): kernels 1×1 and 3×3, strides 1 and 2, paddings 0/1/'same'/'valid', odd and rectangular
 * sizes, batch > 1, channel counts that leave tiles ragged, one channel (the other tile order), and
 * reductions long enough to be split (two dispatches). Also dx + addend against cpu's dx then Add,
 * and no tensor or GPU-buffer leak.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../core/random.js';
import '../../models/register-gradients.js';
import { webgpuForTests } from '../webgpu-test-support.js';
import { filterGradSplit, gemmTiling, setGemmTiling } from './conv-gemm-wgsl.js';
import { CONV2D_BACKPROP_INPUT_ADD, setInputGradAlgorithm } from './conv-grad-kernels.js';
import { isWebGpuKernelInstalled } from './register-webgpu-kernels.js';
import { maxRelativeError } from '../relative-error.js';

const gpu = await webgpuForTests();
const skip = gpu.skip;
const REL_TOLERANCE = 1e-5;

interface Case {
  readonly name: string;
  readonly x: [number, number, number, number];
  readonly k: number;
  readonly co: number;
  readonly stride: number;
  readonly pad: 'same' | 'valid' | number;
}

const CASES: readonly Case[] = [
  { name: '3×3 s1 p1 16→16', x: [2, 8, 8, 16], k: 3, co: 16, stride: 1, pad: 1 },
  { name: '3×3 s2 p1 odd 7×5, 3→5', x: [3, 7, 5, 3], k: 3, co: 5, stride: 2, pad: 1 },
  { name: '3×3 s1 same, 1 input channel', x: [2, 6, 6, 1], k: 3, co: 4, stride: 1, pad: 'same' },
  { name: '3×3 s2 valid 9×9, 8→12', x: [2, 9, 9, 8], k: 3, co: 12, stride: 2, pad: 'valid' },
  { name: '1×1 s2 p0 16→32', x: [2, 8, 8, 16], k: 1, co: 32, stride: 2, pad: 0 },
  { name: '1×1 s1 valid 5→80 (two column tiles)', x: [3, 5, 5, 5], k: 1, co: 80, stride: 1, pad: 'valid' },
  { name: '3×3 s2 same 6×6, 4→3', x: [2, 6, 6, 4], k: 3, co: 3, stride: 2, pad: 'same' },
  { name: '3×3 s1 p1, split reduction 4×24×24', x: [4, 24, 24, 4], k: 3, co: 8, stride: 1, pad: 1 },
];

function values(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.nextGaussian());
}

function outSize(size: number, c: Case): number {
  if (c.pad === 'same') return Math.ceil(size / c.stride);
  const p = c.pad === 'valid' ? 0 : c.pad;
  return Math.floor((size + 2 * p - c.k) / c.stride) + 1;
}

/** y, dx and dW of tf.conv2d for upstream dy, computed on `backend`, read back. */
async function gradients(backend: string, c: Case, xv: Float32Array, wv: Float32Array, dyv: Float32Array) {
  await tf.setBackend(backend);
  const [n, h, w] = c.x;
  const dyShape: [number, number, number, number] = [n, outSize(h, c), outSize(w, c), c.co];
  const result = tf.tidy(() => {
    const x = tf.tensor4d(xv, c.x);
    const filter = tf.tensor4d(wv, [c.k, c.k, c.x[3], c.co]);
    const dy = tf.tensor4d(dyv, dyShape);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad));
    return [tf.conv2d(x, filter, c.stride, c.pad), ...g([x, filter], dy)];
  });
  const [y, dx, dw] = await Promise.all(result.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose(result);
  return { y: y!, dx: dx!, dw: dw! };
}


test('webgpu: our Conv2D, Conv2DBackpropFilter/Input are the ones installed', { skip }, () => {
  assert.ok(isWebGpuKernelInstalled('Conv2D'));
  assert.ok(isWebGpuKernelInstalled('Conv2DBackpropFilter'));
  assert.ok(isWebGpuKernelInstalled('Conv2DBackpropInput'));
  assert.ok(isWebGpuKernelInstalled(CONV2D_BACKPROP_INPUT_ADD));
});

test('dW split: slices cover every position once, in whole tiles, and only long reductions split', () => {
  const g = { batch: 4, inHeight: 24, inWidth: 24, inChannels: 4, outHeight: 24, outWidth: 24, outChannels: 8, filterHeight: 3, filterWidth: 3, strideHeight: 1, strideWidth: 1, padTop: 1, padLeft: 1 };
  const positions = 4 * 24 * 24;
  const { splits, chunk } = filterGradSplit(g, 528, 512);
  assert.ok(splits > 1, 'the test case below is meant to split');
  assert.equal(chunk % 16, 0);
  assert.ok(splits * chunk >= positions && (splits - 1) * chunk < positions);
  assert.equal(filterGradSplit({ ...g, batch: 1, inHeight: 8, inWidth: 8, outHeight: 8, outWidth: 8 }, 528, 512).splits, 1);
});

for (const [i, c] of CASES.entries()) {
  test(`webgpu conv and its gradients = cpu, both tilings: ${c.name}`, { skip }, async () => {
    const [n, h, w, ci] = c.x;
    const xv = values(10 + i, n * h * w * ci);
    const wv = values(20 + i, c.k * c.k * ci * c.co);
    const dyv = values(30 + i, n * outSize(h, c) * outSize(w, c) * c.co);
    const cpu = await gradients('cpu', c, xv, wv, dyv);
    const initial = gemmTiling();
    try {
      for (const tiling of ['narrow', 'wide'] as const) {
        setGemmTiling(tiling);
        const ours = await gradients('webgpu', c, xv, wv, dyv);
        for (const key of ['y', 'dx', 'dw'] as const) {
          const err = maxRelativeError(ours[key], cpu[key]);
          assert.ok(err < REL_TOLERANCE, `${tiling}: ${key} differs by ${err}`);
        }
      }
    } finally {
      setGemmTiling(initial);
    }
  });
}

for (const algorithm of ['gemm', 'stock'] as const) {
  test(`webgpu dx + addend (${algorithm} dx) = cpu dx then Add; no tensor or GPU-buffer leak`, { skip }, async () => {
    setInputGradAlgorithm(algorithm);
    const c = CASES[1]!;
    const [n, h, w, ci] = c.x;
    const dyShape = [n, outSize(h, c), outSize(w, c), c.co];
    const attrs = { inputShape: c.x, strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const inputs = { dy: values(1, dyShape.reduce((a, b) => a * b)), filter: values(2, c.k * c.k * ci * c.co), addend: values(3, n * h * w * ci) };
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const out = tf.tidy(() => {
        const dy = tf.tensor(inputs.dy, dyShape);
        const filter = tf.tensor(inputs.filter, [c.k, c.k, ci, c.co]);
        const addend = tf.tensor(inputs.addend, c.x);
        return tf.engine().runKernel(CONV2D_BACKPROP_INPUT_ADD, { dy, filter, addend }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
      });
      const data = (await out.data()) as Float32Array;
      out.dispose();
      return data;
    };
    const cpu = await run('cpu');
    const ours = await run('webgpu');
    assert.ok(maxRelativeError(ours, cpu) < REL_TOLERANCE, `differs by ${maxRelativeError(ours, cpu)}`);
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    for (let k = 0; k < 3; k++) await run('webgpu');
    for (const t of [CASES[7]!]) {
      const [tn, th, tw, tc] = t.x;
      await gradients('webgpu', t, values(4, tn * th * tw * tc), values(5, 9 * tc * t.co), values(6, tn * th * tw * t.co));
    }
    await tf.setBackend('webgpu');
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
    assert.equal(after.numTensors, before.numTensors, 'tensors');
    assert.equal(after.numBytesInGPU, before.numBytesInGPU, 'bytes in GPU buffers');
    setInputGradAlgorithm('gemm');
  });
}
