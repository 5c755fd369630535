/**
 * The local launcher (`encourage train --workers N`) as users run it, with real processes: a
 * worker killed mid-epoch is evicted, restarted and joins back; a worker killed mid-all-reduce once
 * the restart budget is used up leaves the run going on with fewer; a worker that crashes at start
 * every time stops the run after --max-restarts with an error naming it; SIGTERM/SIGINT stop the
 * run at a step boundary with a checkpoint (exit 143/130) and --resume continues it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { readMetrics } from '../core/training/run-dir.js';
import { CHAOS_TEST_TIMEOUT_MS, LEARNED_ACCURACY_FLOOR, LEARNING_RUN_FLAGS, runFlags, startProc, stepsRecorded, summaryOf, waitForSteps, type Proc } from './chaos-harness.js';

interface WorkerExitRecord {
  worker: number;
  code: number | null;
  signal: string | null;
  atStep: number;
  action: string;
  lastLogLine: string;
}

interface Summary {
  status: string;
  error?: string;
  epochs: number;
  steps: number;
  workers: number;
  testAccuracy: number;
  restarts: number;
  resizes: number;
  workersLost: number;
  secondsLost: number;
  workerRestarts: number;
  workerExits: WorkerExitRecord[];
  samples: { epoch: number; committed: number; exact: boolean }[];
}

/** Steps per epoch of the learning set-up with 3 workers: 768 / (3 × 16). */
const STEPS_PER_EPOCH_3 = 16;

function startLauncher(dir: string, experiment: string, extra: readonly string[], env: NodeJS.ProcessEnv = {}): Proc {
  return startProc(['train', ...runFlags(dir, experiment), ...LEARNING_RUN_FLAGS, '--no-report', ...extra], env);
}

/** Process ids the launcher logged for worker `index`, first incarnation first. */
function workerPids(proc: Proc, index: number): number[] {
  return proc.logs.filter((l) => l['component'] === 'launcher' && l['worker'] === index && typeof l['workerPid'] === 'number').map((l) => l['workerPid'] as number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function allWorkerPids(proc: Proc): number[] {
  return proc.logs.filter((l) => l['component'] === 'launcher' && typeof l['workerPid'] === 'number').map((l) => l['workerPid'] as number);
}

test('kill -9 of a worker mid-epoch: restarted, it joins back; kill -9 mid-all-reduce with the restarts used up: the run goes on with fewer; samples exact', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'launcher-kill-'));
  // One restart in all: worker 1's crash uses it, worker 2's (at step 40, in epoch 3) finds none left.
  const launcher = startLauncher(dir, 'kill', ['--workers', '3', '--epochs', '5', '--max-restarts', '1'], { ENCOURAGE_FAILPOINTS: '2:allreduce@40' });
  try {
    await launcher.waitForLog((l) => l['msg'] === 'new ring' && l['workers'] === 3, 90_000, 'the first ring of 3');
    await waitForSteps(dir, 4, 90_000);
    const [victim] = workerPids(launcher, 1);
    assert.ok(victim !== undefined, 'the launcher logged worker 1\'s pid');
    process.kill(victim, 'SIGKILL');
    const done = await launcher.done;
    assert.equal(done.code, 0, done.stderr.slice(-4000));
    const s = summaryOf<Summary>(done);
    const context = JSON.stringify({ workerExits: s.workerExits, restarts: s.restarts, workersLost: s.workersLost });
    assert.equal(s.status, 'succeeded');
    assert.equal(s.epochs, 5);
    assert.deepEqual(s.samples.map((x) => [x.epoch, x.committed, x.exact]), [1, 2, 3, 4, 5].map((e) => [e, 768, true]), 'every sample of every epoch committed exactly once');
    assert.equal(s.workerExits.length, 2, context);
    const [first, second] = s.workerExits as [WorkerExitRecord, WorkerExitRecord];
    assert.deepEqual([first.worker, first.signal, first.action], [1, 'SIGKILL', 'restarted'], context);
    assert.ok(first.atStep >= 4 && first.atStep < 2 * STEPS_PER_EPOCH_3, `killed mid-run, early: ${context}`);
    assert.deepEqual([second.worker, second.signal, second.action], [2, 'SIGKILL', 'given-up'], context);
    assert.ok(second.atStep >= 30 && second.atStep < 40, `the fail point fired in step 40's all-reduce: ${context}`);
    assert.equal(s.workerRestarts, 1);
    assert.equal(s.workersLost, 2, context);
    assert.ok(s.restarts >= 2, context);
    assert.ok(s.secondsLost > 0, `seconds lost ${s.secondsLost}`);
    // Evicted the moment the launcher saw them exit, not at the heartbeat deadline.
    const lost = launcher.logs.filter((l) => l['msg'] === 'worker lost').map((l) => [l['localIndex'], l['why']]);
    assert.deepEqual(lost, [[1, 'process exited (signal SIGKILL)'], [2, 'process exited (signal SIGKILL)']]);
    // The restarted worker 1 came back (through a graceful join, or the recovery round of worker 2's
    // loss if that came first on a slow machine) and finished the run with worker 0.
    const pids = workerPids(launcher, 1);
    assert.equal(pids.length, 2, 'worker 1 was started twice');
    assert.ok(launcher.logs.some((l) => l['msg'] === 'joined the ring' && l['pid'] === pids[1]), 'the restarted worker 1 joined the ring');
    const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
    assert.equal(s.workers, 2);
    for (const e of metrics.filter((m) => m.type === 'epoch')) assert.equal(e['replicasIdentical'], true, `epoch ${e['epoch']}`);
    assert.ok(s.testAccuracy >= LEARNED_ACCURACY_FLOOR, `test accuracy ${s.testAccuracy}: the recovered run learned (chance 0.1)`);
    for (const pid of allWorkerPids(launcher)) assert.equal(alive(pid), false, `worker process ${pid} is gone`);
  } finally {
    launcher.child.kill('SIGKILL');
  }
});

/** Listen on 127.0.0.1:port (EADDRINUSE rejects). */
function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** A base port P with P and P + 1 free and P + 2 held by a listener of ours (closed by the caller). */
async function portsWithThirdTaken(): Promise<{ base: number; holder: Server }> {
  for (let attempt = 0; ; attempt++) {
    const probe = await listenOn(0);
    const base = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const held: Server[] = [];
    try {
      held.push(await listenOn(base), await listenOn(base + 1));
      const holder = await listenOn(base + 2);
      return { base, holder };
    } catch (err) {
      if (attempt >= 20) throw err;
    } finally {
      await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    }
  }
}

test('a worker that crashes at start every time: the run stops after --max-restarts, naming the worker, its exit and its last log line', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'launcher-crashloop-'));
  // Worker 1's metrics port (base + 2) is taken: it exits 1 at start, every time.
  const { base, holder } = await portsWithThirdTaken();
  const launcher = startLauncher(dir, 'crashloop', ['--workers', '2', '--min-workers', '2', '--max-restarts', '2', '--metrics-port', String(base)]);
  try {
    const done = await launcher.done;
    assert.equal(done.code, 1, done.stderr.slice(-3000));
    const message = new RegExp(`worker 1 exited with code 1 after 2 restart\\(s\\), --max-restarts 2 used up; 1 worker\\(s\\) remain, fewer than --min-workers 2; its last log line: encourage: cannot serve metrics on 127\\.0\\.0\\.1:${base + 2} \\(EADDRINUSE\\)`);
    assert.match(done.stderr, new RegExp(`encourage: ${message.source}`));
    const s = summaryOf<Summary>(done);
    assert.equal(s.status, 'failed');
    assert.match(s.error ?? '', message);
    assert.deepEqual(s.workerExits.map((x) => [x.worker, x.code, x.action]), [[1, 1, 'restarted'], [1, 1, 'restarted'], [1, 1, 'given-up']]);
    assert.equal(s.workerRestarts, 2);
    assert.equal(s.steps, 0, 'no ring formed without worker 1');
    // Backoff doubles per restart of the same worker.
    const backoffs = launcher.logs.filter((l) => l['msg'] === 'worker died: restarting it').map((l) => l['backoffMs']);
    assert.deepEqual(backoffs, [1000, 2000]);
    assert.equal(workerPids(launcher, 1).length, 3, 'started once and restarted twice');
    for (const pid of allWorkerPids(launcher)) assert.equal(alive(pid), false, `worker process ${pid} is gone`);
  } finally {
    launcher.child.kill('SIGKILL');
    await new Promise((r) => holder.close(r));
  }
});

test('SIGTERM to the launcher: checkpoint at the next step boundary, exit 143; --resume continues and SIGINT stops it again, exit 130', { timeout: CHAOS_TEST_TIMEOUT_MS }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'launcher-signal-'));
  /** 768 / (2 × 16): a stop a few steps in lands mid-epoch, where no routine checkpoint is. */
  const stepsPerEpoch = 24;
  const store = new CheckpointStore(join(dir, 'checkpoints'));
  const stopAfter = async (extra: readonly string[], atLeast: number, signal: NodeJS.Signals) => {
    const launcher = startLauncher(dir, 'signal', ['--workers', '2', '--epochs', '20', ...extra]);
    try {
      await launcher.waitForLog((l) => l['msg'] === 'new ring', 90_000, 'the first ring');
      await waitForSteps(dir, atLeast, 90_000);
      launcher.child.kill(signal);
      const done = await launcher.done;
      for (const pid of allWorkerPids(launcher)) assert.equal(alive(pid), false, `worker process ${pid} is gone after ${signal}`);
      return { done, launcher };
    } finally {
      launcher.child.kill('SIGKILL');
    }
  };
  const first = await stopAfter([], 3, 'SIGTERM');
  assert.equal(first.done.code, 143, first.done.stderr.slice(-3000));
  const stopped = summaryOf<Summary>(first.done);
  assert.equal(stopped.status, 'stopped');
  assert.ok(stopped.steps >= 3 && stopped.steps % stepsPerEpoch !== 0, `stopped mid-epoch at step ${stopped.steps}`);
  assert.equal(Math.max(...(await store.steps())), stopped.steps, 'the newest checkpoint is the one taken at the stop');
  await access(join(dir, 'checkpoints', CheckpointStore.fileName(stopped.steps)));

  const second = await stopAfter(['--resume'], (await stepsRecorded(dir)) + 3, 'SIGINT');
  assert.equal(second.done.code, 130, second.done.stderr.slice(-3000));
  const resumedLine = second.launcher.logs.find((l) => l['msg'] === 'resuming the run from its checkpoint');
  assert.equal(resumedLine?.['step'], stopped.steps, 'the resumed run started from the stop checkpoint');
  const again = summaryOf<Summary>(second.done);
  assert.equal(again.status, 'stopped');
  assert.ok(again.steps > stopped.steps, `${again.steps} > ${stopped.steps}`);
  assert.equal(Math.max(...(await store.steps())), again.steps);
});
