import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { DEFAULT_ALLREDUCE_DTYPE, parseAllreduceDtype, resolveAllreduceDtype, wireDtypeOfAssignment } from './allreduce-dtype.js';
import { parseTrainConfig } from './train-config.js';

test('auto resolves to float16 only when every rank uses a GPU; explicit settings always win', () => {
  assert.equal(DEFAULT_ALLREDUCE_DTYPE, 'auto');
  assert.equal(resolveAllreduceDtype('auto', [true, true, true]), 'float16');
  assert.equal(resolveAllreduceDtype('auto', [true, false]), 'float32');
  assert.equal(resolveAllreduceDtype('auto', [false]), 'float32');
  assert.equal(resolveAllreduceDtype('auto', []), 'float32', 'no ranks, no GPU');
  assert.equal(resolveAllreduceDtype('float32', [true, true]), 'float32');
  assert.equal(resolveAllreduceDtype('float16', [false, false]), 'float16');
});

test('settings are validated naming the key; an assignment without a format falls back to the explicit setting or float32', () => {
  for (const ok of ['auto', 'float32', 'float16'] as const) assert.equal(parseAllreduceDtype(ok), ok);
  for (const bad of ['bfloat16', 'AUTO', '', 16, null]) {
    assert.throws(() => parseAllreduceDtype(bad), (e: unknown) => e instanceof ConfigError && e.message.includes('allreduceDtype') && e.message.includes("'auto', 'float32', 'float16'"), String(bad));
  }
  assert.equal(parseTrainConfig({ experiment: 'x' }).allreduce.dtype, 'auto', 'the run default');
  assert.throws(() => parseTrainConfig({ experiment: 'x', allreduceDtype: 'int8' }), /allreduceDtype.*int8/);
  assert.equal(wireDtypeOfAssignment('float16', 'auto'), 'float16');
  assert.equal(wireDtypeOfAssignment('float32', 'float16'), 'float32', 'the coordinator decides');
  assert.equal(wireDtypeOfAssignment('', 'auto'), 'float32');
  assert.equal(wireDtypeOfAssignment('', 'float16'), 'float16');
  assert.throws(() => wireDtypeOfAssignment('int8', 'auto'), (e: unknown) => e instanceof ConfigError && e.message.includes('int8'));
});
