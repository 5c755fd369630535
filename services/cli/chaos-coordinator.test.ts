/**
 * Chaos: the coordinator itself goes away. kill -9 mid-epoch, then a restart with `--resume` on
 * the same address: it recovers the run from its checkpoint directory, the workers (which kept
 * their processes, data and collective endpoints) reconnect and re-register, and the run finishes
 * with one record per epoch. SIGTERM instead: the ring checkpoints at the next step boundary, the
 * coordinator exits 143, and a later `--resume` run with fresh workers completes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { readMetrics } from '../core/training/run-dir.js';
import { CHAOS_TEST_TIMEOUT_MS, freePort, startCoordinator, startWorker, summaryOf, waitForSteps, type Proc } from './chaos-harness.js';

interface Summary {
  status: string;
  epochs: number;
  steps: number;
  restarts: number;
  secondsLost: number;
  samples: { epoch: number; exact: boolean }[];
}

function killAll(procs: Proc[]): void {
  for (const p of procs) p.child.kill('SIGKILL');
}

/** A coordinator (exactly 2 workers) and its two workers, on a fresh run directory and port. */
async function startTwoWorkerRun(experiment: string) {
  const dir = await mkdtemp(join(tmpdir(), `chaos-${experiment}-`));
  const port = await freePort();
  const args = ['--min-workers', '2', '--max-workers', '2'];
  const first = startCoordinator(port, dir, experiment, args);
  const workers = [0, 1].map((i) => startWorker(port, `w${i}`));
  return { dir, port, args, first, workers };
}

/** The resumed coordinator exited 0 with the whole run done: 3 epochs, 36 steps, every sample exactly once. */
function assertCompleted(done: Awaited<Proc['done']>): Summary {
  assert.equal(done.code, 0, done.stderr.slice(-3000));
  const summary = summaryOf<Summary>(done);
  assert.equal(summary.status, 'succeeded');
  assert.equal(summary.epochs, 3);
  assert.equal(summary.steps, 36);
  assert.deepEqual(summary.samples.map((s) => s.exact), [true, true, true]);
  return summary;
}

test('kill -9 of the coordinator mid-epoch: restarted with --resume, it recovers from its checkpoint and the workers reconnect', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const { dir, port, args, first, workers } = await startTwoWorkerRun('coord');
  let second: Proc | null = null;
  try {
    // Steps per epoch with 2 workers: 384 / 32 = 12. Kill in the middle of epoch 2.
    await waitForSteps(dir, 12 + 5, 90_000);
    assert.ok((await new CheckpointStore(join(dir, 'checkpoints')).steps()).includes(12), 'the epoch-1 checkpoint exists');
    first.child.kill('SIGKILL');
    await first.done;
    await new Promise((r) => setTimeout(r, 1_000));
    second = startCoordinator(port, dir, 'coord', [...args, '--resume']);
    const resumed = await second.waitForLog((l) => l['msg'] === 'resuming the run from its checkpoint', 30_000, 'resume');
    assert.equal(resumed['step'], 12);
    await second.waitForLog((l) => l['msg'] === 'new ring' && l['restoreFromCheckpoint'] === true, 60_000, 'a ring restored from the checkpoint');
    const summary = assertCompleted(await second.done);
    assert.ok(summary.restarts >= 1);
    assert.ok(summary.secondsLost > 0);
    for (const w of workers) {
      const r = await w.done;
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.ok(w.logs.some((l) => l['msg'] === 're-joining the rendezvous' && (l['reason'] === 'coordinator-lost' || l['reason'] === 'identity-lost')), 'the worker noticed');
    }
    const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
    assert.deepEqual(metrics.filter((m) => m.type === 'epoch').map((m) => m['epoch']), [1, 2, 3], 'one record per epoch');
    const steps = metrics.filter((m) => m.type === 'step').map((m) => m.step);
    assert.deepEqual(steps, [...Array(36).keys()].map((k) => k + 1), 'steps after the checkpoint were dropped and redone once');
  } finally {
    killAll([first, ...workers, ...(second === null ? [] : [second])]);
  }
});

test('SIGTERM on the coordinator: checkpoint at the next step boundary, exit 143; --resume completes the run', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const { dir, port, args, first, workers } = await startTwoWorkerRun('term');
  let later: Proc[] = [];
  try {
    await waitForSteps(dir, 12 + 3, 90_000);
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    assert.equal(stopped.code, 143, stopped.stderr.slice(-3000));
    const partial = summaryOf<Summary>(stopped);
    assert.equal(partial.status, 'stopped');
    const saved = await new CheckpointStore(join(dir, 'checkpoints')).steps();
    assert.ok(saved.includes(partial.steps) && partial.steps > 12, `a checkpoint at the stop step ${partial.steps} (have ${saved.join(', ')})`);
    for (const w of workers) {
      const r = await w.done;
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).status, 'stopped');
    }
    const second = startCoordinator(port, dir, 'term', [...args, '--resume']);
    later = [second, ...[0, 1].map((i) => startWorker(port, `v${i}`))];
    assertCompleted(await second.done);
  } finally {
    killAll([first, ...workers, ...later]);
  }
});
