import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Rng } from '../../../core/random.js';
import { ChannelPlan, TARGET_ROW_WIDTH, channelMean, channelSum, rowFactor } from './channel-ops.js';

await tf.setBackend('cpu');

test('rowFactor divides M and aims at rows of TARGET_ROW_WIDTH values', () => {
  assert.equal(rowFactor(65536, 16), TARGET_ROW_WIDTH / 16);
  assert.equal(rowFactor(1024, 512), 2);
  assert.equal(rowFactor(7, 16), 7, 'never more rows than values');
  assert.equal(rowFactor(5 * 7 * 3, 16), 35, 'largest divisor below the target');
  assert.equal(rowFactor(13, 2048), 1);
  for (const [m, c] of [[100, 3], [96, 10], [4096, 64], [1, 8]] as const) {
    const k = rowFactor(m, c);
    assert.equal(m % k, 0);
    assert.ok(k >= 1);
  }
});

test('wide-view broadcasts equal plain NHWC broadcasts, and sums/means match tf.sum', () => {
  const rng = new Rng(7);
  for (const shape of [[2, 3, 5, 4], [4, 8, 8, 16], [1, 1, 1, 3], [3, 2, 2, 7]] as Array<[number, number, number, number]>) {
    tf.tidy(() => {
      const n = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor4d(Float32Array.from({ length: n }, () => rng.nextGaussian()), shape);
      const v = tf.tensor1d(Float32Array.from({ length: shape[3] }, () => rng.nextGaussian()));
      const plan = new ChannelPlan(shape);
      const wideProduct = plan.unwide(tf.mul(plan.wide(x), plan.widen(v)));
      assert.deepEqual(wideProduct.shape, shape);
      assert.deepEqual(Array.from(wideProduct.dataSync()), Array.from(tf.mul(x, v).dataSync()), `broadcast ${shape}`);
      const refSum = tf.sum(x, [0, 1, 2]).dataSync();
      const gotSum = channelSum(x).dataSync();
      const gotMean = channelMean(x).dataSync();
      for (let c = 0; c < shape[3]; c++) {
        assert.ok(Math.abs(gotSum[c]! - refSum[c]!) < 1e-4 * Math.max(1, Math.abs(refSum[c]!)), `sum ${shape} c${c}`);
        assert.ok(Math.abs(gotMean[c]! - refSum[c]! / plan.count) < 1e-5, `mean ${shape} c${c}`);
      }
    });
  }
});
