import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Membership } from './membership.js';
import { RunFullError, StaleGenerationError, UnknownWorkerError } from '../errors.js';

const w = (pod: string, localIndex: number, port: number) => ({ collectiveAddress: `127.0.0.1:${port}`, pod, localIndex, backend: 'wasm' });

test('reaching maxWorkers assigns at once; ranks keep pods adjacent', async () => {
  const m = new Membership({ minWorkers: 2, maxWorkers: 4, rendezvousGraceMs: 60_000 });
  const a = m.register(w('pod-b', 1, 1));
  const b = m.register(w('pod-a', 0, 2));
  const c = m.register(w('pod-b', 0, 3));
  assert.equal(m.generation, 0, 'waiting for the grace period or maxWorkers');
  const pending = m.waitForAssignment(a, 0, 5_000);
  const d = m.register(w('pod-a', 1, 4));
  const view = await pending;
  assert.equal(view.generation, 1);
  assert.equal(view.worldSize, 4);
  assert.deepEqual(view.ring, ['127.0.0.1:2', '127.0.0.1:4', '127.0.0.1:3', '127.0.0.1:1']);
  assert.deepEqual([b, d, c, a].map((id) => m.rankOf(id)), [0, 1, 2, 3]);
  assert.throws(() => m.register(w('pod-c', 0, 5)), RunFullError);
  m.close();
});

test('minWorkers plus the grace period starts a smaller ring', async () => {
  const m = new Membership({ minWorkers: 2, maxWorkers: 8, rendezvousGraceMs: 50 });
  const a = m.register(w('p', 0, 1));
  const none = await m.waitForAssignment(a, 0, 80);
  assert.equal(none.assigned, false, 'one worker is below minWorkers');
  m.register(w('p', 1, 2));
  const t0 = Date.now();
  const v = await m.waitForAssignment(a, 0, 5_000);
  assert.ok(Date.now() - t0 >= 40, 'waited for the grace period');
  assert.equal(v.worldSize, 2);
  assert.equal(v.rank, 0);
  m.close();
});

test('stale generations and unknown workers are rejected with the values', () => {
  const m = new Membership({ minWorkers: 1, maxWorkers: 1, rendezvousGraceMs: 10 });
  const a = m.register(w('p', 0, 1));
  assert.equal(m.generation, 1);
  assert.doesNotThrow(() => m.check(a, 1));
  assert.throws(() => m.check(a, 0), (e: unknown) => e instanceof StaleGenerationError && e.got === 0 && e.current === 1);
  assert.throws(() => m.check('nobody', 1), UnknownWorkerError);
  m.close();
});
