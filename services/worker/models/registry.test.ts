import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigError } from '../../core/errors.js';
import { countTrainableParams, exportState } from './model-state.js';
import { MODEL_NAMES, createModel, isModelName, type ModelName } from './registry.js';

// Forward passes only (no conv filter gradients), so the stock wasm backend is enough and fast.
await tf.setBackend('wasm');

/**
 * Expected trainable-parameter counts for 10 classes.
 * resnet18: kuangliu/pytorch-cifar ResNet18 (a well-known figure).
 * resnet(6n+2), option-B shortcuts: stem 3·16·9 + BN 32 = 464; stage 1: n·(2·2,304 + 64);
 * stage 2: (4,608 + 9,216 + 128 + 512 + 64) + (n−1)·(2·9,216 + 128);
 * stage 3: (18,432 + 36,864 + 256 + 2,048 + 128) + (n−1)·(2·36,864 + 256); linear 64·10 + 10 = 650
 * ⇒ 73,370 + 4,672·n + 92,544·(n−1): n = 3, 5, 9 → 272,474, 466,906, 855,770.
 * cnn-small: 432 + 32 + 4,608 + 64 + 18,432 + 128 + 64·10 + 10 = 24,346.
 * cnn-nobn: (432 + 16) + (4,608 + 32) + (18,432 + 64) + 650 = 24,234.
 */
const EXPECTED_PARAMS: Record<ModelName, number> = {
  resnet18: 11_173_962,
  resnet20: 272_474,
  resnet32: 466_906,
  resnet56: 855_770,
  'cnn-small': 24_346,
  'cnn-nobn': 24_234,
};

function cifarResNetParams(n: number, classes: number): number {
  return 464 + 4_672 * n + 14_528 + 18_560 * (n - 1) + 57_728 + 73_984 * (n - 1) + 64 * classes + classes;
}

test('every registered model has the expected number of trainable parameters', () => {
  assert.deepEqual([...MODEL_NAMES].sort(), Object.keys(EXPECTED_PARAMS).sort());
  for (const name of MODEL_NAMES) {
    const model = createModel(name, { seed: 0 });
    assert.equal(model.name, name);
    assert.equal(countTrainableParams(model), EXPECTED_PARAMS[name], name);
    model.dispose();
  }
  // The closed form in the comment agrees with the table, and numClasses only changes the head.
  assert.equal(cifarResNetParams(3, 10), EXPECTED_PARAMS.resnet20);
  assert.equal(cifarResNetParams(5, 10), EXPECTED_PARAMS.resnet32);
  assert.equal(cifarResNetParams(9, 10), EXPECTED_PARAMS.resnet56);
  const r100 = createModel('resnet20', { seed: 0, numClasses: 100 });
  assert.equal(countTrainableParams(r100), cifarResNetParams(3, 100));
  r100.dispose();
});

test('params and buffers: unique names, weight decay only on conv/linear weights, BN buffers paired', () => {
  for (const name of MODEL_NAMES) {
    const model = createModel(name, { seed: 0 });
    const names = [...model.params, ...model.buffers].map((t) => t.name);
    assert.equal(new Set(names).size, names.length, `${name}: unique names`);
    for (const p of model.params) {
      const decayed = p.name.endsWith('.weight') && p.variable.rank > 1;
      assert.equal(p.weightDecay, decayed, `${name}: ${p.name}`);
      assert.equal(p.variable.trainable, true);
    }
    const bnWeights = model.params.filter((p) => p.name.endsWith('.weight') && p.variable.rank === 1).map((p) => p.name.slice(0, -'.weight'.length));
    assert.deepEqual(
      model.buffers.map((b) => b.name),
      bnWeights.flatMap((bn) => [`${bn}.running_mean`, `${bn}.running_var`]),
      `${name}: one running_mean/var pair per BatchNorm, in order`,
    );
    assert.ok(model.buffers.every((b) => !b.variable.trainable));
    model.dispose();
  }
});

test('output shape is [N, numClasses] in training and eval mode', () => {
  for (const name of MODEL_NAMES) {
    for (const numClasses of [10, 7]) {
      const model = createModel(name, { seed: 1, numClasses });
      tf.tidy(() => {
        const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
        const train = model.apply(x, true);
        model.discardRunningStats();
        const evalOut = model.apply(x, false);
        assert.deepEqual(train.shape, [2, numClasses], name);
        assert.deepEqual(evalOut.shape, [2, numClasses], name);
        assert.ok(Array.from(evalOut.dataSync()).every(Number.isFinite));
      });
      model.dispose();
    }
  }
});

test('same seed gives bit-identical weights; another seed does not', async () => {
  for (const name of ['cnn-small', 'resnet20'] as const) {
    const a = createModel(name, { seed: 42 });
    const b = createModel(name, { seed: 42 });
    const c = createModel(name, { seed: 43 });
    const sa = await exportState(a);
    const sb = await exportState(b);
    const sc = await exportState(c);
    for (const [key, values] of sa) {
      assert.deepEqual(Buffer.from(values.buffer), Buffer.from(sb.get(key)!.buffer), `${name}: ${key}`);
    }
    assert.notDeepEqual(sa.get('conv1.weight'), sc.get('conv1.weight'));
    assert.notDeepEqual(sa.get('linear.weight'), sc.get('linear.weight'));
    // Identical weights and input give identical logits.
    tf.tidy(() => {
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      assert.deepEqual(a.apply(x, false).dataSync(), b.apply(x, false).dataSync());
    });
    for (const m of [a, b, c]) m.dispose();
  }
});

test('models coexist and dispose releases every tensor', () => {
  const before = tf.memory().numTensors;
  const models = [createModel('cnn-small', { seed: 1 }), createModel('cnn-small', { seed: 1 }), createModel('resnet20', { seed: 1 })];
  assert.ok(tf.memory().numTensors > before);
  for (const m of models) {
    m.dispose();
    m.dispose(); // idempotent
  }
  assert.equal(tf.memory().numTensors, before);
  const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  assert.throws(() => models[0]!.apply(x, false), /after dispose/);
  x.dispose();
});

test('unknown names and bad options are ConfigErrors', () => {
  assert.equal(isModelName('resnet20'), true);
  assert.equal(isModelName('resnet21'), false);
  assert.throws(
    () => createModel('vgg16' as ModelName, { seed: 0 }),
    (err: unknown) => err instanceof ConfigError && err.key === 'model' && err.value === 'vgg16' && /resnet18, resnet20, resnet32, resnet56, cnn-small, cnn-nobn/.test(err.expected),
  );
  assert.throws(() => createModel('cnn-small', { seed: 0, numClasses: 0 }), (err: unknown) => err instanceof ConfigError && err.key === 'model.numClasses');
  assert.throws(() => createModel('cnn-small', { seed: 1.5 }), (err: unknown) => err instanceof ConfigError && err.key === 'model.seed');
});
