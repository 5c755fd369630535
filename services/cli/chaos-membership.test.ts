/**
 * Elastic membership without failures: a worker that joins late enters the ring at a step
 * boundary (up to --max-workers), and a worker that gets SIGTERM leaves at a step boundary — the
 * ring shrinks without treating it as a crash. Plus the NaN/Inf policy: `--on-nonfinite stop`
 * ends the run as failed naming rank, step and tensor; `skip` skips the updates on every rank.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAOS_TEST_TIMEOUT_MS, freePort, startCoordinator, startWorker, summaryOf, waitForSteps } from './chaos-harness.js';

interface Summary {
  status: string;
  error?: string;
  epochs: number;
  workers: number;
  restarts: number;
  resizes: number;
  workersLost: number;
  skippedSteps: number;
  samples: { exact: boolean }[];
}

test('a late worker joins at a step boundary; a SIGTERM-ed worker leaves cleanly; samples stay exact', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-elastic-'));
  const port = await freePort();
  const coordinator = startCoordinator(port, dir, 'elastic', ['--min-workers', '2', '--max-workers', '3', '--epochs', '4']);
  const workers = [0, 1].map((i) => startWorker(port, `w${i}`));
  try {
    await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['workers'] === 2, 60_000, 'the first ring of 2');
    await waitForSteps(dir, 5, 60_000);
    workers.push(startWorker(port, 'w2'));
    const grown = await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['workers'] === 3, 60_000, 'the ring growing to 3');
    assert.equal(grown['reason'], 'join');
    assert.equal(grown['stateSourceRank'] !== -1, true, 'the newcomer took the ring\'s state from a member');
    await waitForSteps(dir, 16, 60_000);
    workers[0]!.child.kill('SIGTERM');
    const shrunk = await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['workers'] === 2 && (l['reason'] === 'leave' || l['reason'] === 'membership-change'), 60_000, 'the ring shrinking to 2');
    assert.ok(Number(shrunk['generation']) >= 3);
    const left = await workers[0]!.done;
    assert.equal(left.code, 0, left.stderr.slice(-2000));
    assert.equal(JSON.parse(left.stdout.trim().split('\n').at(-1)!).status, 'left');
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    const summary = summaryOf<Summary>(done);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.workersLost, 0, 'a clean leave is not a loss');
    assert.equal(summary.restarts, 0, 'nor a restart');
    assert.ok(summary.resizes >= 2, `resizes ${summary.resizes}`);
    assert.equal(summary.workers, 2);
    assert.equal(summary.samples.length, 4);
    assert.ok(summary.samples.every((s) => s.exact), JSON.stringify(summary.samples));
  } finally {
    for (const p of [coordinator, ...workers]) p.child.kill('SIGKILL');
  }
});

test('NaN/Inf: --on-nonfinite stop fails the run naming rank, step and tensor; skip skips every rank\'s update', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  for (const policy of ['stop', 'skip'] as const) {
    const dir = await mkdtemp(join(tmpdir(), `nonfinite-${policy}-`));
    const port = await freePort();
    // A learning rate of 1e30 blows the weights up in one step: the next forward pass overflows.
    const coordinator = startCoordinator(port, dir, `nan-${policy}`, ['--min-workers', '2', '--max-workers', '2', '--epochs', '1', '--lr', '1e30', '--on-nonfinite', policy]);
    const workers = [0, 1].map((i) => startWorker(port, `w${i}`));
    try {
      const done = await coordinator.done;
      const summary = summaryOf<Summary>(done);
      const results = await Promise.all(workers.map((w) => w.done));
      if (policy === 'stop') {
        assert.equal(done.code, 1, done.stderr.slice(-3000));
        assert.equal(summary.status, 'failed');
        assert.match(summary.error ?? '', /rank \d+, step \d+, tensor \S+/);
        const line = workers.flatMap((w) => w.logs).find((l) => l['msg'] === 'non-finite value before the all-reduce');
        assert.ok(line !== undefined && typeof line['rank'] === 'number' && typeof line['step'] === 'number' && typeof line['tensor'] === 'string', JSON.stringify(line));
        assert.ok(results.some((r) => r.code === 1), 'the worker that found it exits non-zero');
      } else {
        assert.equal(done.code, 0, done.stderr.slice(-3000));
        assert.equal(summary.status, 'succeeded');
        assert.ok(summary.skippedSteps >= 1, `skipped ${summary.skippedSteps}`);
        assert.ok(summary.samples.every((s) => s.exact));
      }
    } finally {
      for (const p of [coordinator, ...workers]) p.child.kill('SIGKILL');
    }
  }
});
