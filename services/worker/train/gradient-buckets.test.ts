/**
 * Gradient buckets: DDP's reverse-order packing, a tensor larger than the capacity alone in its
 * bucket, gather/scatter round trips on the device, and NaN/Inf naming the parameter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { silentLogger } from '../../core/logging.js';
import { selectBackend } from '../backend/select-backend.js';
import { createModel, type Param } from '../models/index.js';
import { bucketElements, GradientBuckets } from './gradient-buckets.js';

await selectBackend('cpu', silentLogger);

function params(sizes: readonly number[]): Param[] {
  return sizes.map((n, i) => ({ name: `p${i}`, variable: tf.variable(tf.zeros([n])), weightDecay: true }));
}

test('parameters pack in reverse order into buckets of at most the capacity', () => {
  const ps = params([4, 3, 10, 2, 2, 1]);
  const layout = new GradientBuckets(ps, 5).buckets.map((b) => b.slots.map((s) => `${s.name}@${s.offset}`));
  // p5+p4+p3 = 5 fit; p2 (10) exceeds the capacity alone and gets its own bucket; p1+p0 = 7 > 5.
  assert.deepEqual(layout, [['p5@0', 'p4@1', 'p3@3'], ['p2@0'], ['p1@0'], ['p0@0']]);
  assert.equal(new GradientBuckets(ps, 1000).buckets.length, 1);
  assert.equal(new GradientBuckets(ps, 1000).size, 22);
  assert.throws(() => new GradientBuckets(ps, 0), /positive integer of elements, got 0/);
  assert.equal(bucketElements(25), 25 * 262_144);
  tf.dispose(ps.map((p) => p.variable));
});

test('gather and scatter round-trip a model\'s gradients through host buckets', async () => {
  const model = createModel('cnn-small', { seed: 1 });
  const buckets = new GradientBuckets(model.params, 4000);
  const grads = model.params.map((p, i) => tf.randomNormal(p.variable.shape, 0, 1, 'float32', i));
  const extra = tf.scalar(7.5);
  const last = buckets.buckets.length - 1;
  for (const [b, bucket] of buckets.buckets.entries()) {
    const flat = buckets.gather(b, grads, b === last ? [extra] : []);
    const host = Float32Array.from((await flat.data()) as Float32Array);
    flat.dispose();
    assert.equal(host.length, bucket.size + (b === last ? 1 : 0));
    if (b === last) assert.equal(host[bucket.size], 7.5);
    const back = buckets.scatter(b, host);
    host.fill(0); // the returned tensors own their values
    for (const [param, t] of back) assert.deepEqual(await t.data(), await grads[param]!.data(), model.params[param]!.name);
    tf.dispose(back.map(([, t]) => t));
  }
  tf.dispose([...grads, extra]);
  model.dispose();
});

test('nonFinite names the parameter holding the first NaN or Inf', () => {
  const ps = params([3, 4, 2]);
  const buckets = new GradientBuckets(ps, 6);
  // bucket 0: p2 (2) + p1 (4); bucket 1: p0 (3)
  const values = new Float32Array(6);
  assert.equal(buckets.nonFinite(0, values), null);
  values[4] = Number.POSITIVE_INFINITY;
  assert.equal(buckets.nonFinite(0, values), 'p1');
  values[1] = Number.NaN;
  assert.equal(buckets.nonFinite(0, values), 'p2');
  assert.equal(buckets.nonFinite(1, Float32Array.of(0, -Infinity, 0)), 'p0');
  assert.throws(() => buckets.nonFinite(2, values), /no gradient bucket 2 \(there are 2\)/);
  tf.dispose(ps.map((p) => p.variable));
});
