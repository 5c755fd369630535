/**
 * The dispatch layer our webgpu kernels share: several outputs from one dispatch with a per-call
 * uniform, pipelines compiled once per key, dispatches timed under `tf.profile` (timestamp
 * queries) and named in its extraInfo, a shader the device rejects reported and refused instead of
 * silently producing nothing, and workgroup grids within the per-dimension limit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { webgpuForTests } from '../webgpu-test-support.js';
import { allocate, backendInternals, compiledPipelineCount, dispatch, grid, programRejection, type ProgramSpec } from './program-runner.js';

const gpu = await webgpuForTests();
const skip = gpu.skip;

/** out0 = a + k, out1 = a · b, for a per-call uniform k. */
const SUM_PRODUCT: ProgramSpec = {
  key: 'test-sum-product',
  label: 'TestSumProduct',
  writes: 2,
  reads: 2,
  uniform: true,
  wgsl: () => `@group(0) @binding(0) var<storage, read_write> out0: array<f32>;
@group(0) @binding(1) var<storage, read_write> out1: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
struct U { k: f32 };
@group(0) @binding(4) var<uniform> u: U;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= arrayLength(&a)) { return; }
  out0[i] = a[i] + u.k;
  out1[i] = a[i] * b[i];
}`,
};

const KERNEL = 'EncourageRunnerTest';

test('grid: a 1-, 2- or 3-D split that covers the count within the limit', () => {
  for (const [count, limit] of [[1, 65535], [65535, 65535], [65536, 65535], [10_000_000, 65535], [5_000_000_000, 65535], [17, 4]] as const) {
    const [x, y, z] = grid(count, limit);
    assert.ok(x * y * z >= count && x <= limit && y <= limit && z <= limit, `${count}: [${x},${y},${z}]`);
  }
});

test('webgpu dispatch: two outputs and a uniform from one dispatch, one pipeline per key, timed under tf.profile', { skip }, async () => {
  await tf.setBackend('webgpu');
  tf.registerKernel({
    kernelName: KERNEL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backendInternals(backend);
      const { a, b: bb } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const outs = [allocate(b, [...a.shape]), allocate(b, [...a.shape])];
      dispatch(b, SUM_PRODUCT, outs, [a, bb], [Math.ceil(a.shape[0]! / 64), 1, 1], new Float32Array([(attrs as { k: number }).k]).buffer);
      return outs;
    },
  });
  try {
    const device = backendInternals(tf.backend()).device;
    const a = tf.tensor1d([1, 2, 3, 4, 5]);
    const b = tf.tensor1d([2, 2, 2, 2, -1]);
    for (const k of [0.5, -3]) {
      const [sum, product] = tf.engine().runKernel(KERNEL, { a, b }, { k }) as tf.Tensor[];
      assert.deepEqual(Array.from(await sum!.data()), [1, 2, 3, 4, 5].map((v) => v + k));
      assert.deepEqual(Array.from(await product!.data()), [2, 4, 6, 8, -5]);
      tf.dispose([sum!, product!]);
    }
    const compiled = compiledPipelineCount(device);
    const profile = await tf.profile(() => tf.dispose(tf.engine().runKernel(KERNEL, { a, b }, { k: 1 }) as tf.Tensor[]));
    assert.equal(compiledPipelineCount(device), compiled, 'the pipeline is reused');
    const entry = profile.kernels.find((k) => k.name === KERNEL);
    assert.match(String(entry?.extraInfo), /^TestSumProduct: [\d.]+$/);
    assert.equal(typeof entry?.kernelTimeMs, 'number');
    tf.dispose([a, b]);
  } finally {
    tf.unregisterKernel(KERNEL, 'webgpu');
  }
});

test('webgpu dispatch: a shader the device rejects is reported and its next dispatch throws', { skip }, async () => {
  await tf.setBackend('webgpu');
  const backend = backendInternals(tf.backend());
  const broken: ProgramSpec = { ...SUM_PRODUCT, key: 'test-broken', label: 'TestBroken', wgsl: () => SUM_PRODUCT.wgsl().replace('a[i] * b[i]', 'a[i] * undefinedName') };
  const a = tf.tensor1d([1, 2]);
  const outs = [allocate(backend, [2]), allocate(backend, [2])];
  const stderr = process.stderr.write.bind(process.stderr);
  let reported = '';
  process.stderr.write = ((chunk: string) => ((reported += chunk), true)) as typeof process.stderr.write;
  try {
    dispatch(backend, broken, outs, [a, a], [1, 1, 1], new Float32Array([0]).buffer);
    for (let i = 0; i < 100 && programRejection('test-broken') === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  } finally {
    process.stderr.write = stderr;
  }
  assert.match(programRejection('test-broken') ?? '', /undefinedName/);
  assert.match(reported, /TestBroken .* rejected/);
  assert.throws(() => dispatch(backend, broken, outs, [a, a], [1, 1, 1], new Float32Array([0]).buffer), /TestBroken was rejected/);
  for (const t of outs) backend.disposeData(t.dataId);
  a.dispose();
});
