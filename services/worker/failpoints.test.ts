import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../core/errors.js';
import { Failpoints } from './failpoints.js';

test('fail points: phase@step for every process, L:phase@step only for local index L', () => {
  const spec = 'forward@3, 1:allreduce@5,2:checkpoint@8';
  const zero = new Failpoints(spec, 0);
  assert.ok(zero.armed('forward', 3));
  assert.ok(!zero.armed('allreduce', 5), 'entry for local index 1 ignored by 0');
  assert.ok(!zero.armed('forward', 4));
  const one = new Failpoints(spec, 1);
  assert.ok(one.armed('forward', 3) && one.armed('allreduce', 5) && !one.armed('checkpoint', 8));
  const two = new Failpoints(spec, 2);
  assert.ok(two.armed('checkpoint', 8) && !two.armed('allreduce', 5));
  assert.equal(new Failpoints('', 0).active, false);
  assert.equal(new Failpoints('3:forward@1', 0).active, false, 'nothing for this process');
});

test('a malformed fail point is a ConfigError naming the entry', () => {
  for (const bad of ['forward', 'explode@3', 'x:forward@3', 'forward@-1', '1:forward']) {
    assert.throws(() => new Failpoints(`forward@1,${bad}`), (err: unknown) => err instanceof ConfigError && err.message.includes(JSON.stringify(bad)), bad);
  }
});
