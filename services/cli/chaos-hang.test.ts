/**
 * Chaos: a hung worker (SIGSTOP — alive to TCP, silent to everyone) must be detected and the run
 * recovered within the deadline, never hang; when it wakes up (SIGCONT) it finds itself evicted,
 * re-registers, and rejoins the ring at a step boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAOS_TEST_TIMEOUT_MS, freePort, startCoordinator, startWorker, stepsRecorded, summaryOf, waitForSteps } from './chaos-harness.js';

/** Heartbeat deadline in FAST_FAILURE_FLAGS, plus slack for a loaded machine. */
const DETECTION_BOUND_MS = 4_000 + 6_000;

test('SIGSTOP of a worker: detected and recovered within the deadline; after SIGCONT it rejoins', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-hang-'));
  const port = await freePort();
  const coordinator = startCoordinator(port, dir, 'hang', ['--min-workers', '2', '--max-workers', '3', '--epochs', '4']);
  const workers = [0, 1, 2].map((i) => startWorker(port, `w${i}`));
  try {
    await waitForSteps(dir, 4, 60_000);
    const stoppedAt = Date.now();
    workers[1]!.child.kill('SIGSTOP');
    const lost = await coordinator.waitForLog((l) => l['msg'] === 'worker lost', DETECTION_BOUND_MS, 'the stopped worker declared lost');
    const ring = await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['reason'] === 'worker-lost', DETECTION_BOUND_MS, 'a ring without it');
    const recoveredMs = Date.now() - stoppedAt;
    assert.equal(lost['pod'], 'w1');
    assert.equal(ring['workers'], 2);
    assert.ok(recoveredMs <= DETECTION_BOUND_MS, `recovered after ${recoveredMs} ms`);
    // Training goes on without it; then it wakes up.
    const atWake = await stepsRecorded(dir);
    await waitForSteps(dir, atWake + 2, 60_000);
    workers[1]!.child.kill('SIGCONT');
    await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['reason'] === 'join' && l['workers'] === 3, 60_000, 'the woken worker rejoining');
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    const summary = summaryOf<{ status: string; restarts: number; resizes: number; workersLost: number; workers: number; samples: { exact: boolean }[] }>(done);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.workersLost, 1);
    assert.ok(summary.restarts >= 1 && summary.resizes >= 1, JSON.stringify(summary));
    assert.equal(summary.workers, 3, 'the woken worker finished the run in the ring');
    assert.ok(summary.samples.length === 4 && summary.samples.every((s) => s.exact));
    for (const w of workers) assert.equal((await w.done).code, 0);
    assert.ok(workers[1]!.logs.some((l) => l['msg'] === 're-joining the rendezvous' && l['reason'] === 'identity-lost'), 'the woken worker learned it was evicted');
  } finally {
    for (const p of [coordinator, ...workers]) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
  }
});

test('a peer that stops answering fails the all-reduce within --allreduce-timeout-ms even when heartbeats would not notice', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-stall-'));
  const port = await freePort();
  // Heartbeats effectively off (60 s): only the collective deadline (2 s) and the rendezvous
  // deadline (3 s) can end the stall.
  const coordinator = startCoordinator(port, dir, 'stall', [
    '--min-workers', '2', '--max-workers', '3', '--heartbeat-timeout-ms', '60000', '--rendezvous-timeout-ms', '3000', '--allreduce-timeout-ms', '2000', '--epochs', '2',
  ]);
  const workers = [0, 1, 2].map((i) => startWorker(port, `w${i}`));
  try {
    await waitForSteps(dir, 3, 60_000);
    const stoppedAt = Date.now();
    workers[2]!.child.kill('SIGSTOP');
    const failed = await workers[0]!.waitForLog((l) => l['msg'] === 're-joining the rendezvous' && l['reason'] === 'peer-failure', 20_000, 'rank 0 giving up on the step');
    const failedMs = Date.now() - stoppedAt;
    assert.match(String(failed['err']), /within 2000 ms|deadline|timed out/i, String(failed['err']));
    assert.ok(failedMs <= 2_000 + 8_000, `the step failed after ${failedMs} ms`);
    await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['workers'] === 2, 20_000, 'the ring without the stalled worker');
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    const summary = summaryOf<{ status: string; workersLost: number; samples: { exact: boolean }[] }>(done);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.workersLost, 1);
    assert.ok(summary.samples.every((s) => s.exact));
  } finally {
    for (const p of [coordinator, ...workers]) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
  }
});
