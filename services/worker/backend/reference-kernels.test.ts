/**
 * The audit's direct-summation references equal TensorFlow.js's cpu kernels on small cases:
 * strides 1 and 2, paddings same/valid/numeric, 1×1 and 3×3 filters, odd sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../core/random.js';
import { conv2dBackpropFilterReference, maxPoolGradReference } from './reference-kernels.js';

await tf.setBackend('cpu');

test('conv2dBackpropFilterReference equals the cpu Conv2DBackpropFilter kernel', () => {
  const rng = new Rng(5);
  const cases: Array<{ x: [number, number, number, number]; f: [number, number, number, number]; s: number; pad: 'same' | 'valid' | number }> = [
    { x: [2, 7, 7, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
    { x: [2, 8, 8, 4], f: [3, 3, 4, 5], s: 2, pad: 1 },
    { x: [1, 9, 6, 2], f: [1, 1, 2, 3], s: 2, pad: 'valid' },
    { x: [3, 5, 5, 2], f: [3, 3, 2, 2], s: 1, pad: 'valid' },
    { x: [1, 6, 6, 3], f: [3, 3, 3, 2], s: 2, pad: 'same' },
  ];
  for (const c of cases) {
    const x = tf.tensor4d(Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) }, () => rng.nextGaussian()), c.x);
    const outShape = tf.conv2d(x, tf.zeros(c.f) as tf.Tensor4D, c.s, c.pad).shape;
    const dy = tf.tensor4d(Float32Array.from({ length: outShape.reduce((a, b) => a * b, 1) }, () => rng.nextGaussian()), outShape);
    const attrs = { strides: [c.s, c.s], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape: c.f } as unknown as tf.NamedAttrMap;
    const expected = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
    const ref = conv2dBackpropFilterReference({
      inputs: new Map([['x', { shape: c.x, values: x.dataSync() }], ['dy', { shape: outShape, values: dy.dataSync() }]]),
      attrs,
    });
    assert.ok(ref !== null && 'values' in ref);
    assert.deepEqual(ref.shape, c.f);
    const want = expected.dataSync();
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(ref.values[i]! - want[i]!));
    assert.ok(worst < 1e-4, `${JSON.stringify(c)}: differs by ${worst}`);
    tf.dispose([x, dy, expected]);
  }
  // NCHW is not covered: the audit then falls back to the cpu kernel.
  assert.equal(conv2dBackpropFilterReference({ inputs: new Map(), attrs: { dataFormat: 'NCHW' } }), null);
});

test('maxPoolGradReference accepts any split among tied maxima and nothing else', () => {
  // One 2×2 window per channel: channel 0 has a unique max, channel 1 two tied maxima.
  const x = { shape: [1, 2, 2, 2], values: Float32Array.of(1, 5, 4, 0, 2, 5, 3, -1) };
  const dy = { shape: [1, 1, 1, 2], values: Float32Array.of(0.5, 2) };
  const ref = maxPoolGradReference({ inputs: new Map([['input', x], ['dy', dy]]), attrs: { filterSize: 2, strides: 2, pad: 'valid' } });
  assert.ok(ref !== null && 'verify' in ref);
  // NHWC: value i is cell ⌊i/2⌋ of channel i mod 2. Channel 0 [1, 4, 2, 3]: max at value 2;
  // channel 1 [5, 0, 5, −1]: tied maxima at values 1 and 5.
  assert.equal(ref.verify(Float32Array.of(0, 2, 0.5, 0, 0, 0, 0, 0)), 0, 'first of the tied maxima');
  assert.equal(ref.verify(Float32Array.of(0, 0, 0.5, 0, 0, 2, 0, 0)), 0, 'second of the tied maxima');
  assert.equal(ref.verify(Float32Array.of(0, 1, 0.5, 0, 0, 1, 0, 0)), 0, 'shared between them');
  assert.equal(ref.verify(Float32Array.of(0.5, 2, 0, 0, 0, 0, 0, 0)), 0.25, 'channel 0 on a non-maximum (0.5 of max |dy| 2)');
  assert.equal(ref.verify(Float32Array.of(0, 2, 0.5, 0, 0, 0, 0, 1)), 0.5, 'a stray gradient');
  // Overlapping windows are left to the cpu kernel.
  assert.equal(maxPoolGradReference({ inputs: new Map([['input', x], ['dy', dy]]), attrs: { filterSize: 2, strides: 1, pad: 'valid' } }), null);
});
