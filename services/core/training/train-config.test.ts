import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { configFingerprint, parseTrainConfig, serializeTrainConfig } from './train-config.js';

test('serialize → parse is the identity (what workers receive from the coordinator)', () => {
  for (const raw of [
    { experiment: 'a', data: 'synthetic', syntheticTrain: 100, model: 'cnn-small', loss: 'el', allreduceDtype: 'float16', bucketMb: 8 },
    { experiment: 'b', dataDir: '/data', download: true, dataUrl: 'file:///x.tgz', model: 'resnet20', loss: { bonus: 'log', logEnd: 0.5, schedule: { kind: 'cos', maxEpoch: 5 } }, confidenceEdges: [0, 0.5, 1] },
  ]) {
    const c = parseTrainConfig(raw, {});
    assert.deepEqual(parseTrainConfig(JSON.parse(JSON.stringify(serializeTrainConfig(c))) as Record<string, unknown>, {}), c);
  }
});

test('fingerprint: same model and loss agree, a different loss differs, presets are irrelevant', () => {
  const el = parseTrainConfig({ experiment: 'x', model: 'cnn-small', loss: 'el' }, {});
  const same = parseTrainConfig({ experiment: 'y', model: 'cnn-small', loss: { bonus: 'log', logEnd: 0.75 }, epochs: 3 }, {});
  const other = parseTrainConfig({ experiment: 'x', model: 'cnn-small', loss: { preset: 'el', schedule: { kind: 'linear', maxEpoch: 9 } } }, {});
  assert.equal(configFingerprint(el), configFingerprint(same));
  assert.notEqual(configFingerprint(el), configFingerprint(other), 'nested schedule options count');
});

test('errors name the key', () => {
  assert.throws(() => parseTrainConfig({ epochz: 3 }, {}), (e: unknown) => e instanceof ConfigError && e.key === 'epochz');
  assert.throws(() => parseTrainConfig({ experiment: 'Bad_Name' }, {}), (e: unknown) => e instanceof ConfigError && e.key === 'experiment');
  assert.throws(() => parseTrainConfig({ allreduceDtype: 'int8' }, {}), (e: unknown) => e instanceof ConfigError && e.key === 'allreduceDtype');
  assert.throws(() => parseTrainConfig({ warmupEpochs: 5, epochs: 5 }, {}), (e: unknown) => e instanceof ConfigError && e.key === 'warmupEpochs');
});
