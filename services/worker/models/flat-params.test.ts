import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { flattenGrads, flattenParams, gradsInParamOrder, loadFlatParams, paramLayout, unflattenGrads } from './flat-params.js';
import { ModelStateError } from './model-errors.js';
import { countTrainableParams } from './model-state.js';
import { createModel } from './registry.js';

await tf.setBackend('cpu');

test('paramLayout: contiguous slots in params order', () => {
  const model = createModel('resnet20', { seed: 1 });
  const layout = paramLayout(model);
  assert.equal(layout.length, model.params.length);
  let offset = 0;
  for (const [i, slot] of layout.entries()) {
    assert.equal(slot.name, model.params[i]!.name);
    assert.equal(slot.offset, offset);
    assert.equal(slot.size, model.params[i]!.variable.size);
    offset += slot.size;
  }
  assert.equal(offset, countTrainableParams(model));
  model.dispose();
});

test('flattenParams concatenates params; loadFlatParams inverts it without aliasing', async () => {
  const a = createModel('cnn-small', { seed: 1 });
  const b = createModel('cnn-small', { seed: 2 });
  const flat = await flattenParams(a);
  assert.equal(flat.length, 24_346);
  for (const slot of paramLayout(a)) {
    const p = a.params.find((q) => q.name === slot.name)!;
    assert.deepEqual(flat.subarray(slot.offset, slot.offset + slot.size), p.variable.dataSync());
  }
  loadFlatParams(b, flat);
  assert.deepEqual(await flattenParams(b), flat);
  flat.fill(0); // the caller reuses its buffer: b must keep its weights
  assert.deepEqual(await flattenParams(b), await flattenParams(a));
  // A caller-provided output buffer is filled in place.
  const out = new Float32Array(24_346);
  assert.equal(await flattenParams(a, out), out);
  assert.deepEqual(out, await flattenParams(a));
  a.dispose();
  b.dispose();
});

test('flattenGrads/unflattenGrads round-trip a tf.variableGrads map in params order', async () => {
  const model = createModel('cnn-small', { seed: 3 });
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x, true))) as tf.Scalar, model.params.map((p) => p.variable));
  model.discardRunningStats();
  const ordered = gradsInParamOrder(model, grads);
  assert.deepEqual(ordered.map((g) => g.shape), model.params.map((p) => p.variable.shape));
  const flat = await flattenGrads(model, grads);
  assert.deepEqual(await flattenGrads(model, ordered), flat, 'map and array forms agree');
  assert.ok(flat.some((v) => v !== 0));
  const back = unflattenGrads(model, flat);
  assert.deepEqual(Object.keys(back).sort(), Object.keys(grads).sort());
  for (const p of model.params) assert.deepEqual(back[p.variable.name]!.dataSync(), grads[p.variable.name]!.dataSync(), p.name);
  tf.dispose([value, x, ...Object.values(grads), ...Object.values(back)]);
  model.dispose();
});

test('length and shape mismatches are ModelStateErrors', async () => {
  const model = createModel('cnn-small', { seed: 4 });
  assert.throws(() => loadFlatParams(model, new Float32Array(3)), (e: unknown) => e instanceof ModelStateError && /3 elements, model cnn-small has 24346/.test(e.message));
  await assert.rejects(() => flattenParams(model, new Float32Array(5)), ModelStateError);
  assert.throws(() => gradsInParamOrder(model, {}), (e: unknown) => e instanceof ModelStateError && e.tensorName === 'conv1.weight');
  const wrong = model.params.map((p) => tf.zeros(p.variable.shape));
  wrong[1] = tf.zeros([3]);
  await assert.rejects(() => flattenGrads(model, wrong), (e: unknown) => e instanceof ModelStateError && e.tensorName === 'bn1.weight');
  await assert.rejects(() => flattenGrads(model, wrong.slice(1)), ModelStateError);
  tf.dispose(wrong);
  model.dispose();
});
