import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.js';
import { metricsFlags, offsetListen, parseMetricsListen } from './metrics-options.js';

test('--metrics-port: a port, 0 (ephemeral) or off; --metrics-host defaults to all interfaces', () => {
  assert.deepEqual(parseMetricsListen({}), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parseMetricsListen({ metricsPort: '9400' }), { host: '0.0.0.0', port: 9400 });
  assert.deepEqual(parseMetricsListen({ metricsPort: '0', metricsHost: '127.0.0.1' }), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseMetricsListen({}, { host: '127.0.0.1' }), { host: '127.0.0.1', port: 0 });
  assert.equal(parseMetricsListen({ metricsPort: 'off' }), null);
  for (const bad of ['65536', '-1', 'abc', '9400x', '', '1.5']) {
    assert.throws(() => parseMetricsListen({ metricsPort: bad }), (e: unknown) => e instanceof ConfigError && e.key === 'metrics-port' && e.value === bad, bad);
  }
  assert.throws(() => parseMetricsListen({ metricsHost: 'http://x' }), (e: unknown) => e instanceof ConfigError && e.key === 'metrics-host');
});

test('processes sharing a base port get consecutive ports; ephemeral stays ephemeral', () => {
  assert.deepEqual(offsetListen({ host: 'h', port: 9400 }, 2), { host: 'h', port: 9402 });
  assert.deepEqual(offsetListen({ host: 'h', port: 0 }, 5), { host: 'h', port: 0 });
  assert.throws(() => offsetListen({ host: 'h', port: 65535 }, 1), ConfigError);
  assert.throws(() => offsetListen({ host: 'h', port: 9400 }, -1), RangeError);
  assert.deepEqual(metricsFlags(null), ['--metrics-port', 'off']);
  assert.deepEqual(metricsFlags({ host: '127.0.0.1', port: 9401 }), ['--metrics-port', '9401', '--metrics-host', '127.0.0.1']);
  // The flags round-trip through the parser.
  const argv = metricsFlags({ host: '127.0.0.1', port: 9401 });
  assert.deepEqual(parseMetricsListen({ metricsPort: argv[1], metricsHost: argv[3] }), { host: '127.0.0.1', port: 9401 });
});
