/**
 * The wasm convolution-gradient kernels against the pure-JS cpu backend: tf.grads of
 * tf.conv2d (dx and dW) on random shapes, strides, paddings and kernel sizes, for every
 * algorithm the kernels can choose (including the fallbacks), plus leak checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../../core/random.js';
import { setFilterGradStrategy, type FilterGradStrategy } from './conv2d-backprop-filter.js';
import { setInputGradStrategy, type InputGradStrategy } from './conv2d-backprop-input.js';
import { isFastWasmKernelInstalled, registerFastWasmKernels } from './register-wasm-kernels.js';

registerFastWasmKernels();
await tf.setBackend('wasm');

const REL_TOL = 1e-4;

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];

interface Case {
  x: [number, number, number, number];
  kernel: [number, number];
  outChannels: number;
  strides: [number, number];
  pad: Pad;
}

interface Values {
  x: Float32Array;
  filter: Float32Array;
  dy: Float32Array;
  dyShape: [number, number, number, number];
}

function gaussian(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.nextGaussian();
  return out;
}

function filterShape(c: Case): [number, number, number, number] {
  return [c.kernel[0], c.kernel[1], c.x[3], c.outChannels];
}

/** Random inputs for a case; dy is random too, so no gradient entry is trivially uniform. */
function valuesFor(c: Case, rng: Rng): Values {
  const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape(c)) as tf.Tensor4D, c.strides, c.pad).shape);
  return {
    x: gaussian(rng, c.x.reduce((a, b) => a * b, 1)),
    filter: gaussian(rng, filterShape(c).reduce((a, b) => a * b, 1)),
    dy: gaussian(rng, outShape.reduce((a, b) => a * b, 1)),
    dyShape: outShape,
  };
}

/** dx and dW of conv2d on the current backend, read back to the host. */
function convGrads(c: Case, v: Values): { dx: Float32Array; dw: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(v.x, c.x);
    const filter = tf.tensor4d(v.filter, filterShape(c));
    const dy = tf.tensor4d(v.dy, v.dyShape);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))([x, filter], dy);
    if (dx === undefined || dw === undefined) throw new Error('tf.grads returned too few gradients');
    return { dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length, 'length mismatch');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] as number) - (expected[i] as number)));
    scale = Math.max(scale, Math.abs(expected[i] as number));
  }
  return diff / Math.max(scale, 1e-6);
}

function describeCase(c: Case): string {
  return `x=[${c.x.join(',')}] k=${c.kernel.join('x')} cout=${c.outChannels} s=${c.strides.join(',')} pad=${JSON.stringify(c.pad)}`;
}

/** Compare one case on wasm (under each algorithm choice) with cpu. */
async function checkCase(c: Case, rng: Rng): Promise<void> {
  const v = valuesFor(c, rng);
  await tf.setBackend('cpu');
  const expected = convGrads(c, v);
  await tf.setBackend('wasm');
  const choices: Array<[FilterGradStrategy, InputGradStrategy]> = [
    ['auto', 'auto'],
    ['gemm', 'dilation'],
    ['conv', 'auto'],
  ];
  try {
    for (const [filterStrategy, inputStrategy] of choices) {
      setFilterGradStrategy(filterStrategy);
      setInputGradStrategy(inputStrategy);
      const actual = convGrads(c, v);
      const what = `${describeCase(c)} [dW ${filterStrategy}, dx ${inputStrategy}]`;
      const dxErr = relativeError(actual.dx, expected.dx);
      const dwErr = relativeError(actual.dw, expected.dw);
      assert.ok(dxErr <= REL_TOL, `dx relative error ${dxErr.toExponential(2)} for ${what}`);
      assert.ok(dwErr <= REL_TOL, `dW relative error ${dwErr.toExponential(2)} for ${what}`);
    }
  } finally {
    setFilterGradStrategy('auto');
    setInputGradStrategy('auto');
  }
}

test('our kernels are the ones the wasm backend runs', () => {
  assert.ok(isFastWasmKernelInstalled('Conv2DBackpropInput'));
  assert.ok(isFastWasmKernelInstalled('Conv2DBackpropFilter'));
  assert.deepEqual(registerFastWasmKernels(), ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Identity', 'Cast'], 'registration is idempotent');
});

test('fixed grid: kernels 1/3/5 × strides 1/2 × paddings same/valid/numeric/explicit match cpu', async () => {
  const rng = new Rng(2024);
  for (const k of [1, 3, 5]) {
    for (const s of [1, 2]) {
      const pads: Pad[] = [
        'same',
        'valid',
        Math.floor(k / 2), // PyTorch-style symmetric padding, as the models use
        [
          [0, 0],
          [Math.floor(k / 2), k - 1],
          [k - 1, 0],
          [0, 0],
        ],
      ];
      for (const pad of pads) {
        await checkCase({ x: [2, 9, 8, 3], kernel: [k, k], outChannels: 4, strides: [s, s], pad }, rng);
      }
    }
  }
});

test('random shapes (odd sizes, rectangular kernels and strides, large explicit pads) match cpu', async () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 24; trial++) {
    const kh = 1 + rng.nextInt(5);
    const kw = 1 + rng.nextInt(5);
    const sh = 1 + rng.nextInt(3);
    const sw = 1 + rng.nextInt(3);
    const h = kh + rng.nextInt(9);
    const w = kw + rng.nextInt(9);
    const padKind = rng.nextInt(3);
    // Explicit pads up to k + 1 exercise the negative-offset fallback of dx (pad ≥ kernel).
    const p = (k: number): number => rng.nextInt(k + 2);
    const pad: Pad =
      padKind === 0
        ? 'same'
        : padKind === 1
          ? 'valid'
          : [
              [0, 0],
              [p(kh), p(kh)],
              [p(kw), p(kw)],
              [0, 0],
            ];
    const c: Case = { x: [1 + rng.nextInt(3), h, w, 1 + rng.nextInt(5)], kernel: [kh, kw], outChannels: 1 + rng.nextInt(5), strides: [sh, sw], pad };
    await checkCase(c, rng);
  }
});

test('a CIFAR-like stride-2 block at batch 8 matches cpu', async () => {
  const rng = new Rng(99);
  await checkCase({ x: [8, 16, 16, 8], kernel: [3, 3], outChannels: 16, strides: [2, 2], pad: 'same' }, rng);
  await checkCase({ x: [8, 16, 16, 8], kernel: [1, 1], outChannels: 16, strides: [2, 2], pad: 'valid' }, rng);
  await checkCase({ x: [8, 8, 8, 16], kernel: [3, 3], outChannels: 16, strides: [1, 1], pad: 'same' }, rng);
});

test('NCHW gradients (run as kernels, since forward conv on wasm is NHWC-only) match cpu', async () => {
  const rng = new Rng(5);
  const x = gaussian(rng, 2 * 3 * 7 * 6);
  const dy = gaussian(rng, 2 * 4 * 4 * 3);
  const filter = gaussian(rng, 3 * 3 * 3 * 4);
  const run = (): { dx: Float32Array; dw: Float32Array } =>
    tf.tidy(() => {
      const engine = tf.engine();
      const common = { strides: 2, pad: 'same', dataFormat: 'NCHW' };
      const dxT = engine.runKernel(
        'Conv2DBackpropInput',
        { dy: tf.tensor4d(dy, [2, 4, 4, 3]), filter: tf.tensor4d(filter, [3, 3, 3, 4]) },
        { ...common, inputShape: [2, 3, 7, 6] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      const dwT = engine.runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor4d(x, [2, 3, 7, 6]), dy: tf.tensor4d(dy, [2, 4, 4, 3]) },
        { ...common, filterShape: [3, 3, 3, 4] } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      return { dx: dxT.dataSync() as Float32Array, dw: dwT.dataSync() as Float32Array };
    });
  await tf.setBackend('cpu');
  const expected = run();
  await tf.setBackend('wasm');
  const actual = run();
  assert.ok(relativeError(actual.dx, expected.dx) <= REL_TOL, 'NCHW dx');
  assert.ok(relativeError(actual.dw, expected.dw) <= REL_TOL, 'NCHW dW');
});

test('kernels free every intermediate (tensors and wasm data ids) on all paths', async () => {
  await tf.setBackend('wasm');
  const rng = new Rng(11);
  const cases: Case[] = [
    { x: [2, 8, 8, 3], kernel: [3, 3], outChannels: 4, strides: [2, 2], pad: 'same' },
    { x: [2, 8, 8, 3], kernel: [1, 1], outChannels: 4, strides: [2, 2], pad: 'valid' },
    { x: [2, 8, 8, 3], kernel: [3, 3], outChannels: 4, strides: [1, 1], pad: [[0, 0], [3, 3], [0, 4], [0, 0]] },
  ];
  const values = cases.map((c) => valuesFor(c, rng));
  const backend = tf.backend();
  for (const [filterStrategy, inputStrategy] of [
    ['auto', 'auto'],
    ['gemm', 'dilation'],
    ['conv', 'auto'],
  ] as Array<[FilterGradStrategy, InputGradStrategy]>) {
    setFilterGradStrategy(filterStrategy);
    setInputGradStrategy(inputStrategy);
    cases.forEach((c, i) => convGrads(c, values[i] as Values)); // warm-up allocations
    const tensorsBefore = tf.memory().numTensors;
    const idsBefore = backend.numDataIds();
    cases.forEach((c, i) => convGrads(c, values[i] as Values));
    assert.equal(tf.memory().numTensors, tensorsBefore, `tensors leaked (${filterStrategy}/${inputStrategy})`);
    assert.equal(backend.numDataIds(), idsBefore, `wasm data ids leaked (${filterStrategy}/${inputStrategy})`);
  }
  setFilterGradStrategy('auto');
  setInputGradStrategy('auto');
});
