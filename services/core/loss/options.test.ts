import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { parseLossOptions, DEFAULT_LOSS_OPTIONS } from './options.js';
import { PRESET_NAMES } from './presets.js';
import { scheduleFactor } from './schedule.js';

function rejects(input: unknown, key: string): void {
  assert.throws(
    () => parseLossOptions(input),
    (err: unknown) => err instanceof ConfigError && err.key === key && err.message.includes(key),
    `expected a ConfigError naming ${key} for ${JSON.stringify(input)}`,
  );
}

test('presets resolve to the documented settings', () => {
  const el = parseLossOptions('el');
  assert.equal(el.bonus, 'log');
  assert.equal(el.logEnd, 0.75);
  assert.equal(el.rho, 1);
  assert.equal(el.preset, 'el');
  assert.deepEqual(parseLossOptions('ce'), { ...DEFAULT_LOSS_OPTIONS, preset: 'ce' });
  assert.equal(parseLossOptions('el-full').logEnd, 1);
  for (const name of PRESET_NAMES) assert.equal(parseLossOptions(name).preset, name);
});

test('a preset can be overridden key by key', () => {
  const o = parseLossOptions({ preset: 'el', rho: 0.5, schedule: { kind: 'cos', maxEpoch: 200 } });
  assert.equal(o.rho, 0.5);
  assert.equal(o.logEnd, 0.75);
  assert.deepEqual(o.schedule, { kind: 'cos', target: 'rho', maxEpoch: 200, expRatio: 5 });
});

test('unknown keys and out-of-range values name the key', () => {
  rejects('el-typo', 'loss');
  rejects(42, 'loss');
  rejects({ preset: 'nope' }, 'loss.preset');
  rejects({ rh0: 1 }, 'loss.rh0');
  rejects({ base: 'hinge' }, 'loss.base');
  rejects({ bonus: 'exp' }, 'loss.bonus');
  rejects({ rho: -1 }, 'loss.rho');
  rejects({ rho: 'big' }, 'loss.rho');
  rejects({ bonus: 'power', gamma: 0 }, 'loss.gamma');
  rejects({ bonus: 'log', logEnd: 0 }, 'loss.logEnd');
  rejects({ bonus: 'log', logEnd: 1.5 }, 'loss.logEnd');
  rejects({ bonus: 'log', bonusStart: 1 }, 'loss.bonusStart');
  rejects({ bonus: 'log', bonusAbrupt: 0 }, 'loss.bonusAbrupt');
  rejects({ labelSmoothing: 1 }, 'loss.labelSmoothing');
  rejects({ bonus: 'log', deferStart: 1.5 }, 'loss.deferStart');
  rejects({ bonus: 'log', schedule: { kind: 'step', maxEpoch: 10 } }, 'loss.schedule.kind');
  rejects({ bonus: 'log', schedule: { kind: 'linear' } }, 'loss.schedule.maxEpoch');
  rejects({ bonus: 'log', schedule: { kind: 'linear', maxEpoch: 10, speed: 2 } }, 'loss.schedule.speed');
  rejects({ bonus: 'log', schedule: { kind: 'exp', maxEpoch: 10, expRatio: 0 } }, 'loss.schedule.expRatio');
});

test('options that el.py would silently ignore are rejected', () => {
  rejects({ base: 'mse', bonus: 'log' }, 'loss.bonus');
  rejects({ bonus: 'power', logEnd: 0.5 }, 'loss.logEnd');
  rejects({ bonus: 'cosine', bonusStart: 0.2 }, 'loss.bonusStart');
  rejects({ bonusAbrupt: 0.5 }, 'loss.bonusAbrupt');
  rejects({ base: 'mae', labelSmoothing: 0.1 }, 'loss.labelSmoothing');
  rejects({ bonus: 'log', schedule: { kind: 'linear', target: 'logEnd', maxEpoch: 5 } }, 'loss.schedule.target');
  rejects({ base: 'mse', bonus: 'power', schedule: { kind: 'linear', maxEpoch: 5 } }, 'loss.schedule');
});

test('schedule factors follow their closed forms', () => {
  const s = (kind: 'linear' | 'exp' | 'cos', expRatio = 5) => ({ kind, target: 'rho' as const, maxEpoch: 10, expRatio });
  assert.equal(scheduleFactor(s('linear'), 3), 0.3);
  assert.equal(scheduleFactor(s('linear'), 20), 2, 'not clamped, as el.py');
  assert.ok(Math.abs(scheduleFactor(s('exp'), 10) - 1) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s('exp'), 5) - Math.exp(-2.5)) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s('exp', -5), 5) - (1 - Math.exp(-2.5))) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s('cos'), 0)) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s('cos'), 5) - 0.5) < 1e-12);
  assert.ok(Math.abs(scheduleFactor(s('cos'), 10) - 1) < 1e-12);
});
