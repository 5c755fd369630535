/**
 * Sharing kernels for Identity and same-dtype Cast on wasm: same values as a copy, no new
 * buffer, buffers live exactly as long as their last handle, other casts still convert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { isFastWasmKernelInstalled, registerFastWasmKernels } from './register-wasm-kernels.js';

registerFastWasmKernels();
await tf.setBackend('wasm');

test('Identity and Cast are the sharing versions on wasm', () => {
  assert.ok(isFastWasmKernelInstalled('Identity'));
  assert.ok(isFastWasmKernelInstalled('Cast'));
});

test('clone shares the buffer and outlives the original', () => {
  const backend = tf.backend();
  const x = tf.tensor2d([
    [1, -2, 3],
    [4, 5, -6],
  ]);
  const ids = backend.numDataIds();
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), ids, 'no new buffer');
  x.dispose();
  assert.deepEqual(Array.from(y.dataSync()), [1, -2, 3, 4, 5, -6], 'clone still readable after the original is gone');
  y.dispose();
  assert.equal(backend.numDataIds(), ids - 1, 'buffer freed with the last handle');
});

test('same-dtype cast shares; int32 → float32 and float32 → int32 still convert', () => {
  const backend = tf.backend();
  const f = tf.tensor1d([1.75, -2.5, 3]);
  const ids = backend.numDataIds();
  const same = tf.cast(f, 'float32');
  assert.equal(backend.numDataIds(), ids);
  assert.deepEqual(Array.from(same.dataSync()), [1.75, -2.5, 3]);
  const toInt = tf.cast(f, 'int32');
  assert.equal(toInt.dtype, 'int32');
  assert.deepEqual(Array.from(toInt.dataSync()), [1, -2, 3]);
  const i = tf.tensor1d([7, -8], 'int32');
  const toFloat = tf.cast(i, 'float32');
  assert.equal(toFloat.dtype, 'float32');
  assert.deepEqual(Array.from(toFloat.dataSync()), [7, -8]);
  const b = tf.cast(tf.tensor1d([0, 2, 0], 'float32'), 'bool');
  assert.deepEqual(Array.from(b.dataSync()), [0, 1, 0]);
  tf.dispose([f, same, toInt, i, toFloat, b]);
});

test('string tensors still clone through the stock kernel', () => {
  const s = tf.tensor1d(['a', 'bc']);
  const c = tf.clone(s);
  s.dispose();
  assert.deepEqual(c.dataSync(), ['a', 'bc']);
  c.dispose();
});

test('gradients through saved (cloned) tensors match cpu and do not leak', async () => {
  const xValues = [0.5, -1, 2, -0.25, 3, -4, 1.5, 0];
  const run = (): number[] =>
    tf.tidy(() => {
      const x = tf.tensor2d(xValues, [2, 4]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), tf.square(v))))(x);
      return Array.from(g.dataSync());
    });
  await tf.setBackend('cpu');
  const expected = run();
  await tf.setBackend('wasm');
  const before = tf.memory().numTensors;
  const idsBefore = tf.backend().numDataIds();
  assert.deepEqual(run(), expected);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(tf.backend().numDataIds(), idsBefore);
});
