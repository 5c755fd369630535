import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../core/errors.js';
import { DEFAULT_MAX_RESTARTS, parseLauncherConfig, RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS, restartBackoffMs } from './config.js';

test('launcher config: defaults, flag strings, and errors naming the flag and value', () => {
  assert.deepEqual(parseLauncherConfig({ workers: '3' }), { workers: 3, minWorkers: 1, maxRestarts: DEFAULT_MAX_RESTARTS });
  assert.deepEqual(parseLauncherConfig({ workers: 4, minWorkers: '2', maxRestarts: '0' }), { workers: 4, minWorkers: 2, maxRestarts: 0 });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ workers: '0' }, /invalid workers: "0" \(expected an integer in \[1, 64\]\)/],
    [{ workers: 'two' }, /invalid workers: "two"/],
    [{ workers: '2', minWorkers: '3' }, /invalid min-workers: "3" \(expected an integer in \[1, 2\] \(at most --workers 2\)\)/],
    [{ workers: '2', maxRestarts: '-1' }, /invalid max-restarts: "-1"/],
    [{ workers: '2', maxRestarts: '1.5' }, /invalid max-restarts: "1.5"/],
  ];
  for (const [raw, pattern] of cases) assert.throws(() => parseLauncherConfig(raw), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), JSON.stringify(raw));
});

test('restart backoff doubles per restart of a worker, capped', () => {
  assert.equal(restartBackoffMs(1), RESTART_BACKOFF_MS);
  assert.equal(restartBackoffMs(2), 2 * RESTART_BACKOFF_MS);
  assert.equal(restartBackoffMs(3), 4 * RESTART_BACKOFF_MS);
  assert.equal(restartBackoffMs(50), RESTART_BACKOFF_MAX_MS);
});
