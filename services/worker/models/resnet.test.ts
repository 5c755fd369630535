import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ConfigError } from '../../core/errors.js';
import { gradsInParamOrder } from './flat-params.js';
import { createModel } from './registry.js';
import { cifarResNetSpec } from './resnet.js';

await tf.setBackend('cpu');

test('cifarResNetSpec: depth 6n+2 only', () => {
  assert.deepEqual(cifarResNetSpec(20).stages.map((s) => [s.planes, s.blocks, s.stride]), [[16, 3, 1], [32, 3, 2], [64, 3, 2]]);
  assert.deepEqual(cifarResNetSpec(56).stages.map((s) => s.blocks), [9, 9, 9]);
  for (const bad of [21, 2, 0, 19.5]) assert.throws(() => cifarResNetSpec(bad), ConfigError);
});

test('projection shortcuts exactly where stride ≠ 1 or the width changes (option B)', () => {
  const shortcutsOf = (name: 'resnet18' | 'resnet20' | 'resnet56'): string[] => {
    const model = createModel(name, { seed: 0 });
    const found = model.params.filter((p) => p.name.includes('.shortcut.0.')).map((p) => `${p.name}:${p.variable.shape.join('x')}`);
    model.dispose();
    return found;
  };
  assert.deepEqual(shortcutsOf('resnet20'), ['layer2.0.shortcut.0.weight:1x1x16x32', 'layer3.0.shortcut.0.weight:1x1x32x64']);
  assert.deepEqual(shortcutsOf('resnet56'), ['layer2.0.shortcut.0.weight:1x1x16x32', 'layer3.0.shortcut.0.weight:1x1x32x64']);
  assert.deepEqual(shortcutsOf('resnet18'), [
    'layer2.0.shortcut.0.weight:1x1x64x128',
    'layer3.0.shortcut.0.weight:1x1x128x256',
    'layer4.0.shortcut.0.weight:1x1x256x512',
  ]);
});

test('resnet20 structure: stem, 9 blocks, head; PyTorch-style names in registration order', () => {
  const model = createModel('resnet20', { seed: 0 });
  const names = model.params.map((p) => p.name);
  assert.deepEqual(names.slice(0, 7), ['conv1.weight', 'bn1.weight', 'bn1.bias', 'layer1.0.conv1.weight', 'layer1.0.bn1.weight', 'layer1.0.bn1.bias', 'layer1.0.conv2.weight']);
  assert.deepEqual(names.slice(-2), ['linear.weight', 'linear.bias']);
  assert.equal(names.filter((n) => n.endsWith('conv1.weight') && n.startsWith('layer')).length, 9);
  assert.deepEqual(model.params.find((p) => p.name === 'linear.weight')!.variable.shape, [64, 10]);
  assert.equal(model.buffers.length, 2 * 21, '19 main-path BNs + 2 shortcut BNs');
  model.dispose();
});

test('resnet20 trains through every param and updates all 21 BatchNorms without leaking', () => {
  const model = createModel('resnet20', { seed: 7 });
  // Tiny spatial size keeps the cpu backend fast; global pooling makes any size ≥ 4 valid.
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(model.apply(x, true))) as tf.Scalar, model.params.map((p) => p.variable));
  const ordered = gradsInParamOrder(model, grads);
  for (const [i, g] of ordered.entries()) {
    const values = g.dataSync();
    assert.ok(values.every(Number.isFinite), model.params[i]!.name);
    assert.ok(values.some((v) => v !== 0), `${model.params[i]!.name} receives gradient`);
  }
  tf.dispose([value, ...Object.values(grads)]);
  assert.equal(model.updateRunningStats(), 21);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(model.buffers.filter((b) => b.name.endsWith('running_mean')).every((b) => b.variable.dataSync().some((v) => v !== 0)));
  model.dispose();
  x.dispose();
});
