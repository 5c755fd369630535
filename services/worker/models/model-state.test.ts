import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ModelStateError } from './model-errors.js';
import { countTrainableParams, exportState, importState, stateLayout } from './model-state.js';
import { createModel } from './registry.js';

await tf.setBackend('cpu');

function throwsStateError(fn: () => void, tensorName: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ModelStateError, String(err));
    assert.equal(err.tensorName, tensorName);
    assert.match(err.message, pattern);
    assert.ok(err.message.includes(tensorName), 'message names the tensor');
    return true;
  });
}

test('stateLayout and exportState: params then buffers, in model order, with copies', async () => {
  const model = createModel('cnn-small', { seed: 1 });
  const layout = stateLayout(model);
  assert.deepEqual(layout.map((e) => `${e.kind}:${e.name}:${e.shape.join('x')}`), [
    'param:conv1.weight:3x3x3x16',
    'param:bn1.weight:16',
    'param:bn1.bias:16',
    'param:conv2.weight:3x3x16x32',
    'param:bn2.weight:32',
    'param:bn2.bias:32',
    'param:conv3.weight:3x3x32x64',
    'param:bn3.weight:64',
    'param:bn3.bias:64',
    'param:linear.weight:64x10',
    'param:linear.bias:10',
    'buffer:bn1.running_mean:16',
    'buffer:bn1.running_var:16',
    'buffer:bn2.running_mean:32',
    'buffer:bn2.running_var:32',
    'buffer:bn3.running_mean:64',
    'buffer:bn3.running_var:64',
  ]);
  const state = await exportState(model);
  assert.deepEqual([...state.keys()], layout.map((e) => e.name));
  assert.equal(
    layout.filter((e) => e.kind === 'param').reduce((n, e) => n + state.get(e.name)!.length, 0),
    countTrainableParams(model),
  );
  // Mutating the exported arrays must not touch the model (the cpu backend shares storage otherwise).
  const w = state.get('conv1.weight')!;
  const original = w[0]!;
  w[0] = 123;
  assert.equal(model.params[0]!.variable.dataSync()[0], original);
  model.dispose();
});

test('importState round-trips weights and BN statistics into another model', async () => {
  const source = createModel('cnn-small', { seed: 1 });
  const target = createModel('cnn-small', { seed: 2 });
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  // Give the source non-default running statistics.
  tf.dispose(source.apply(x, true));
  source.updateRunningStats();
  const state = await exportState(source);
  importState(target, state);
  for (const [name, values] of await exportState(target)) assert.deepEqual(values, state.get(name), name);
  tf.tidy(() => assert.deepEqual(target.apply(x, false).dataSync(), source.apply(x, false).dataSync()));
  // The caller's arrays are copied, not aliased.
  state.get('linear.bias')![0] = 99;
  assert.notEqual(target.params.find((p) => p.name === 'linear.bias')!.variable.dataSync()[0], 99);
  tf.dispose(x);
  source.dispose();
  target.dispose();
});

test('importState validates names and sizes, names the tensor, and changes nothing on failure', async () => {
  const model = createModel('cnn-small', { seed: 3 });
  const good = await exportState(model);
  const before = await exportState(model);
  const changed = (): Map<string, Float32Array> => {
    const s = new Map([...good].map(([k, v]) => [k, v.map((e) => e + 1)]));
    return s;
  };

  const missing = changed();
  missing.delete('bn2.running_var');
  throwsStateError(() => importState(model, missing), 'bn2.running_var', /missing/);

  const wrongSize = changed();
  wrongSize.set('conv2.weight', new Float32Array(10));
  throwsStateError(() => importState(model, wrongSize), 'conv2.weight', /10 values, expected shape \[3,3,16,32\]/);

  const extra = changed();
  extra.set('conv9.weight', new Float32Array(1));
  throwsStateError(() => importState(model, extra), 'conv9.weight', /not a tensor of model cnn-small/);

  const wrongType = changed() as Map<string, unknown>;
  wrongType.set('linear.bias', Array.from({ length: 10 }, () => 0));
  throwsStateError(() => importState(model, wrongType as Map<string, Float32Array>), 'linear.bias', /Float32Array/);

  for (const [name, values] of await exportState(model)) assert.deepEqual(values, before.get(name), `${name} untouched`);
  model.dispose();
});

test('a checkpoint of one architecture does not load into another', async () => {
  const a = createModel('resnet20', { seed: 0 });
  const b = createModel('resnet32', { seed: 0 });
  const stateB = await exportState(b);
  throwsStateError(() => importState(a, stateB), 'layer1.3.conv1.weight', /not a tensor of model resnet20/);
  a.dispose();
  b.dispose();
});
