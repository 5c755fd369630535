/**
 * The fused SGD step against the host reference `FlatSgd` (torch.optim.SGD semantics, tested
 * against PyTorch's rule in sgd.test.ts): the cpu kernel bit for bit, and `DeviceSgd` on webgpu —
 * which runs one `EncourageSgdStep` per group of parameters — to float32 rounding over six steps,
 * for plain, decayed, Nesterov and momentum-free SGD, with a learning rate that changes per step,
 * more parameters than one group holds, and no tensor or GPU-buffer leak.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../../core/random.js';
import { readConcatenated, type Param } from '../../models/index.js';
import { DeviceSgd } from '../../train/device-sgd.js';
import { FlatSgd, type SgdOptions } from '../../train/sgd.js';
import { webgpuForTests } from '../webgpu-test-support.js';
import { registerCpuCounterparts } from './register-webgpu-kernels.js';
import { SGD_STEP } from './sgd-kernel.js';

registerCpuCounterparts();
const gpu = await webgpuForTests();
const skip = gpu.skip;

const SHAPES = [[3, 3, 2, 4], [4], [4], [5, 3], [7], [2, 2, 3, 5], [9]] as const;
const DECAY = [true, false, false, true, false, true, false];
const OPTIONS: SgdOptions[] = [
  { momentum: 0.9, weightDecay: 5e-4, nesterov: false },
  { momentum: 0.9, weightDecay: 1e-3, nesterov: true },
  { momentum: 0, weightDecay: 5e-4, nesterov: false },
  { momentum: 0.85, weightDecay: 0, nesterov: false },
];

function gaussian(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.nextGaussian());
}

function decayMask(params: readonly Param[]): Uint8Array {
  const mask = new Uint8Array(params.reduce((n, p) => n + p.variable.size, 0));
  let off = 0;
  for (const p of params) {
    if (p.weightDecay) mask.fill(1, off, off + p.variable.size);
    off += p.variable.size;
  }
  return mask;
}

const flat = (tensors: readonly tf.Tensor[]): Promise<Float32Array> => readConcatenated(tensors);

test('cpu EncourageSgdStep equals FlatSgd bit for bit (first step and later steps, every option set)', async () => {
  await tf.setBackend('cpu');
  for (const [o, options] of OPTIONS.entries()) {
    const rng = new Rng(o);
    const sizes = [6, 3];
    const decay = [true, false];
    const p = sizes.map((n) => gaussian(rng, n));
    const host = Float32Array.from([...p[0]!, ...p[1]!]);
    const reference = new FlatSgd(host.length, Uint8Array.from([...Array(6).fill(1), 0, 0, 0]), options);
    let params = p.map((v) => tf.tensor(v));
    let momenta = sizes.map((n) => tf.zeros([n]));
    for (let step = 0; step < 3; step++) {
      const grads = sizes.map((n) => tf.tensor(gaussian(rng, n)));
      const lr = 0.1 / (step + 1);
      reference.step(host, Float32Array.from([...(await grads[0]!.data()), ...(await grads[1]!.data())]), lr);
      const inputs: tf.NamedTensorMap = {};
      params.forEach((t, s) => {
        inputs[`p${s}`] = t;
        inputs[`g${s}`] = grads[s]!;
        if (options.momentum !== 0) inputs[`m${s}`] = momenta[s]!;
      });
      const outs = tf.engine().runKernel(SGD_STEP, inputs, { lr, ...options, first: step === 0, decay } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      const stride = options.momentum === 0 ? 1 : 2;
      tf.dispose([...params, ...momenta, ...grads]);
      params = sizes.map((_, s) => outs[s * stride]!);
      momenta = options.momentum === 0 ? sizes.map((n) => tf.zeros([n])) : sizes.map((_, s) => outs[s * stride + 1]!);
      assert.deepEqual(await flat(params), host, `options ${o}, step ${step}`);
      if (options.momentum !== 0) assert.deepEqual(await flat(momenta), reference.momentumBuffer);
    }
    tf.dispose([...params, ...momenta]);
  }
});

test('webgpu DeviceSgd (fused, grouped) = FlatSgd to float32 rounding over 6 steps, every option set; no leak', { skip }, async () => {
  await tf.setBackend('webgpu');
  for (const [o, options] of OPTIONS.entries()) {
    const rng = new Rng(20 + o);
    const params: Param[] = SHAPES.map((shape, i) => ({ name: `p${i}`, variable: tf.variable(tf.tensor(gaussian(rng, shape.reduce((a, b) => a * b, 1)), [...shape])), weightDecay: DECAY[i]! }));
    const host = await flat(params.map((p) => p.variable));
    const device = new DeviceSgd(params, options);
    const reference = new FlatSgd(host.length, decayMask(params), options);
    let before = { tensors: 0, bytes: 0 };
    for (let step = 0; step < 6; step++) {
      const gradValues = params.map((p) => gaussian(rng, p.variable.size));
      const lr = 0.05 * (1 + step);
      reference.step(host, Float32Array.from(gradValues.flatMap((g) => [...g])), lr);
      const grads = params.map((p, i) => tf.tensor(gradValues[i]!, p.variable.shape));
      device.step(grads, lr);
      tf.dispose(grads);
      const got = await flat(params.map((p) => p.variable));
      let worst = 0;
      // Relative to the step's terms (of order 1 here), not to the result: a GPU compiler may contract
      // a·b + c into one fused multiply-add (WGSL allows it; NVIDIA's does), so a parameter that
      // nearly cancels differs by ulps of its terms (an H200 gave 2.9e-5 relative to such a small result).
      for (let i = 0; i < host.length; i++) worst = Math.max(worst, Math.abs(got[i]! - host[i]!) / Math.max(1, Math.abs(host[i]!)));
      assert.ok(worst < 1e-5, `options ${o}, step ${step}: parameters differ by ${worst}`);
      const memory = tf.memory() as tf.MemoryInfo & { numBytesInGPU: number };
      if (step === 0) before = { tensors: memory.numTensors, bytes: memory.numBytesInGPU };
      else assert.deepEqual({ tensors: memory.numTensors, bytes: memory.numBytesInGPU }, before, `tensors and GPU bytes after step ${step + 1}`);
    }
    const state = await device.state();
    let worst = 0;
    for (let i = 0; i < host.length; i++) worst = Math.max(worst, Math.abs(state.momentumBuffer[i]! - reference.momentumBuffer[i]!));
    assert.ok(worst < 1e-5, `momentum differs by ${worst}`);
    device.dispose();
    for (const p of params) p.variable.dispose();
  }
});
