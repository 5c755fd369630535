/**
 * Chaos: kill -9 of a worker at a pseudo-random point (seeded): mid-forward, mid-all-reduce or
 * mid-checkpoint upload, via the worker's fail points. The run must complete on the survivors,
 * with exact sample accounting, and learn what an undisturbed run learns: the set-up is one that
 * learns within seconds (its baseline is asserted well above chance), and the recovered run's test
 * accuracy and test cross-entropy must be within a tolerance of the baseline's that a run which
 * learned nothing (accuracy ~0.1, cross-entropy ~ln 10) or went NaN misses by far.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../core/random.js';
import { readMetrics } from '../core/training/run-dir.js';
import { CHAOS_TEST_TIMEOUT_MS, freePort, LEARNED_ACCURACY_FLOOR, LEARNING_RUN_FLAGS, startCoordinator, startWorker, summaryOf } from './chaos-harness.js';

interface Summary {
  status: string;
  epochs: number;
  workers: number;
  testAccuracy: number;
  restarts: number;
  workersLost: number;
  secondsLost: number;
  samples: { epoch: number; committed: number; expected: number; exact: boolean }[];
}

/** Steps per epoch with 3 workers: 768 / (3 × 16). */
const STEPS_PER_EPOCH = 16;
/**
 * Tolerances against the undisturbed run (test accuracy 0.57, test cross-entropy 1.10). A lost
 * worker changes the rest of the run's data order and global batch (2 × 16 instead of 3 × 16),
 * nothing else: measured, the recovered runs land within 0.02 accuracy and 0.12 cross-entropy of
 * it. A run that learned nothing (0.1, ~2.3) misses by ~0.45 and ~1.2; one whose learning stopped
 * at the recovery (LR 0 from then on, tried once on purpose) ended at 0.39 and failed.
 */
const ACCURACY_TOLERANCE = 0.1;
const TEST_CE_TOLERANCE = 0.3;
/** Test cross-entropy the baseline must get below: chance is ln 10 ≈ 2.30. */
const LEARNED_TEST_CE_CEILING = 1.6;

interface Outcome {
  summary: Summary;
  dir: string;
  victimSignal: string | null;
  /** Test cross-entropy (the loss's CE part) after the last epoch. */
  testCe: number;
}

async function run(name: string, failpoint: { victim: number; spec: string } | null): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), `chaos-${name}-`));
  const port = await freePort();
  // The scenarios assume all three workers are in the first ring (the victim's rank and the
  // step of its fail point depend on it): a grace long enough for a worker that starts late on a
  // loaded CI machine. (With the harness's 500 ms, w0 once joined only later, as a non-zero rank,
  // and its checkpoint fail point never fired.)
  const coordinator = startCoordinator(port, dir, name, [...LEARNING_RUN_FLAGS, '--min-workers', '2', '--max-workers', '3', '--rendezvous-grace-ms', '5000']);
  const workers = [0, 1, 2].map((i) => startWorker(port, `w${i}`, [], failpoint?.victim === i ? { ENCOURAGE_FAILPOINTS: failpoint.spec } : {}));
  try {
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-4000));
    const results = await Promise.all(workers.map((w) => w.done));
    results.forEach((r, i) => {
      if (i !== failpoint?.victim) assert.equal(r.code, 0, `worker ${i}: ${r.stderr.slice(-2000)}`);
    });
    const epochs = (await readMetrics(join(dir, 'metrics.jsonl'))).filter((m) => m.type === 'epoch');
    return { summary: summaryOf<Summary>(done), dir, victimSignal: failpoint === null ? null : results[failpoint.victim]!.signal, testCe: epochs.at(-1)?.['testBase'] as number };
  } finally {
    for (const p of [coordinator, ...workers]) p.child.kill('SIGKILL');
  }
}

// Four runs in one test (a baseline and three kills): 1.5 chaos-test bounds (measured ~50 s alone, ~145 s in
// the full suite on a loaded 2-core machine).
test('kill -9 of a worker mid-forward, mid-all-reduce and mid-checkpoint (seeded): the run completes, samples exact, it learns what an undisturbed run learns', { timeout: 1.5 * CHAOS_TEST_TIMEOUT_MS }, async () => {
  const baseline = await run('baseline', null);
  assert.equal(baseline.summary.status, 'succeeded');
  assert.equal(baseline.summary.restarts, 0);
  assert.ok(baseline.summary.testAccuracy >= LEARNED_ACCURACY_FLOOR, `undisturbed test accuracy ${baseline.summary.testAccuracy}: the set-up must learn (chance 0.1)`);
  assert.ok(baseline.testCe <= LEARNED_TEST_CE_CEILING, `undisturbed test cross-entropy ${baseline.testCe} (chance ln 10 ≈ 2.30)`);
  const phases = ['forward', 'allreduce', 'checkpoint'] as const;
  for (const [k, seed] of [11, 12, 13].entries()) {
    const rng = new Rng(seed);
    const phase = phases[k]!;
    // Rank 0 (pod w0) uploads the checkpoints, at the end of epochs 1 and 2.
    const victim = phase === 'checkpoint' ? 0 : Math.floor(rng.next() * 3);
    const step = phase === 'checkpoint' ? STEPS_PER_EPOCH * (1 + Math.floor(rng.next() * 2)) : 2 + Math.floor(rng.next() * (2 * STEPS_PER_EPOCH));
    const spec = `${phase}@${step}`;
    const { summary, dir, victimSignal, testCe } = await run(`kill-${phase}`, { victim, spec });
    const context = `seed ${seed}: worker w${victim} killed at ${spec}`;
    const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
    assert.equal(metrics.find((m) => m.type === 'rendezvous')?.['workers'], 3, `${context}: all three workers in the first ring`);
    assert.equal(victimSignal, 'SIGKILL', `${context}: the fail point fired`);
    assert.equal(summary.status, 'succeeded', context);
    assert.equal(summary.epochs, 3, context);
    assert.equal(summary.workers, 2, `${context}: the run finished on the survivors`);
    assert.ok(summary.restarts >= 1, `${context}: restarts ${summary.restarts}`);
    assert.equal(summary.workersLost, 1, context);
    assert.ok(summary.secondsLost > 0, `${context}: seconds lost ${summary.secondsLost}`);
    assert.deepEqual(summary.samples.map((s) => [s.epoch, s.committed, s.exact]), [1, 2, 3].map((e) => [e, 768, true]), `${context}: every sample of every epoch committed exactly once`);
    // Written so that NaN fails too.
    assert.ok(Math.abs(summary.testAccuracy - baseline.summary.testAccuracy) <= ACCURACY_TOLERANCE, `${context}: test accuracy ${summary.testAccuracy} vs undisturbed ${baseline.summary.testAccuracy}`);
    assert.ok(Math.abs(testCe - baseline.testCe) <= TEST_CE_TOLERANCE, `${context}: test cross-entropy ${testCe} vs undisturbed ${baseline.testCe}`);
    const epochs = metrics.filter((m) => m.type === 'epoch');
    assert.deepEqual(epochs.map((e) => e['epoch']), [1, 2, 3], `${context}: one record per epoch`);
    for (const e of epochs) assert.equal(e['replicasIdentical'], true, `${context}: epoch ${e['epoch']} replicas identical`);
    assert.ok(metrics.some((m) => m.type === 'rendezvous' && m['reason'] !== 'initial'), `${context}: a re-rendezvous is on record`);
  }
});
