/**
 * Chaos: real network partitions between real processes, in Linux network namespaces
 * (netns-lab.ts): the coordinator in a hub namespace behind a bridge, each worker in its own
 * namespace on a veth port of that bridge, on a private 10.213.x.0/24 that exists only inside the
 * lab. Packets are dropped silently (link down, bridge port isolation), so nobody gets a reset:
 * every side learns of the partition only through its own deadlines.
 *
 * Needs CAP_NET_ADMIN (root in CI); skipped, with the reason, where namespaces cannot be made.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHAOS_TEST_TIMEOUT_MS, FAST_FAILURE_FLAGS, runFlags, startProc, stepsRecorded, summaryOf, waitForSteps, type Proc } from './chaos-harness.js';
import { NetnsLab, netnsUnavailable } from './netns-lab.js';

interface Summary {
  status: string;
  workers: number;
  restarts: number;
  resizes: number;
  workersLost: number;
  samples: { epoch: number; committed: number; exact: boolean }[];
}

type Log = Record<string, unknown>;

/** The hub namespace belongs to the lab: any port is free there. */
const PORT = 7070;
/** Heartbeat deadline in FAST_FAILURE_FLAGS, plus slack for a loaded machine. */
const DETECTION_BOUND_MS = 4_000 + 6_000;
/** Time for the processes to start (wasm backend, data) and train the first steps on a loaded machine. */
const STARTUP_MS = 45_000;

const skipReason = await netnsUnavailable();

/** Coordinator in the hub namespace, worker i (pod w<i>) in namespace i, all reaching each other through the bridge. */
function startLab(lab: NetnsLab, dir: string, experiment: string, extra: readonly string[]): { coordinator: Proc; workers: Proc[] } {
  const hub = lab.address('hub');
  const coordinator = startProc(['coordinator', '--host', hub, '--port', String(PORT), ...FAST_FAILURE_FLAGS, ...runFlags(dir, experiment), ...extra], {}, lab.exec('hub'));
  const workers = Array.from({ length: lab.workers }, (_, i) =>
    startProc(['worker', '--coordinator', `${hub}:${PORT}`, '--collective-host', lab.address(i), '--pod', `w${i}`, '--local-procs', '1', '--log-level', 'info'], {}, lab.exec(i)),
  );
  return { coordinator, workers };
}

const ms = (log: Log) => Date.parse(String(log['time']));

test('a worker cut off the network mid-run: the survivors re-form the ring without it; after the link heals it finds itself evicted and rejoins', { skip: skipReason ?? false, timeout: CHAOS_TEST_TIMEOUT_MS }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-cut-'));
  const lab = await NetnsLab.create({ tag: 'cut', workers: 3, subnet: '10.213.1' });
  let procs: Proc[] = [];
  try {
    const { coordinator, workers } = startLab(lab, dir, 'cut', ['--min-workers', '2', '--max-workers', '3', '--epochs', '6']);
    procs = [coordinator, ...workers];
    const isolated = workers[1]!;
    await waitForSteps(dir, 3, STARTUP_MS);
    const cutAt = Date.now();
    await lab.cut(1);
    const lost = await coordinator.waitForLog((l) => l['msg'] === 'worker lost', DETECTION_BOUND_MS, 'the cut-off worker declared lost');
    const ring = await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['reason'] === 'worker-lost', DETECTION_BOUND_MS, 'a ring without it');
    const recoveredMs = Date.now() - cutAt;
    t.diagnostic(`cut → ring without w1: ${recoveredMs} ms`);
    assert.equal(lost['pod'], 'w1');
    assert.equal(ring['workers'], 2);
    assert.ok(recoveredMs <= DETECTION_BOUND_MS, `recovered after ${recoveredMs} ms`);
    // While still cut off: the survivors make progress without it, and the isolated worker's own
    // all-reduce gives up at its deadline (it cannot tell a partition from dead peers).
    await waitForSteps(dir, (await stepsRecorded(dir)) + 1, 20_000);
    // (all-reduce deadline: peer-failure; or, if it was waiting on the coordinator, the call deadline: coordinator-lost).
    const gaveUp = await isolated.waitForLog((l) => l['msg'] === 're-joining the rendezvous', 20_000, 'the isolated worker giving up on its step');
    const healAt = Date.now();
    t.diagnostic(`partition lasted ${healAt - cutAt} ms; the isolated worker gave up its step after ${ms(gaveUp) - cutAt} ms (${String(gaveUp['reason'])})`);
    await lab.mend(1);
    // Its connection to the coordinator survives the partition (nobody sent a reset); the first
    // call that gets through after TCP's next retransmission learns it was evicted.
    await isolated.waitForLog((l) => l['msg'] === 're-joining the rendezvous' && l['reason'] === 'identity-lost', 30_000, 'the healed worker learning it was evicted');
    const rejoined = await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['reason'] === 'join' && l['workers'] === 3, 30_000, 'a ring with the healed worker');
    t.diagnostic(`heal → ring with w1 again: ${ms(rejoined) - healAt} ms`);
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    const summary = summaryOf<Summary>(done);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.workersLost, 1);
    assert.ok(summary.restarts >= 1 && summary.resizes >= 1, JSON.stringify(summary));
    assert.equal(summary.workers, 3, 'the healed worker finished the run in the ring');
    assert.deepEqual(summary.samples.map((s) => [s.epoch, s.committed, s.exact]), [1, 2, 3, 4, 5, 6].map((e) => [e, 384, true]), 'every sample of every epoch committed exactly once');
    for (const w of workers) assert.equal((await w.done).code, 0, w.stderr().slice(-2000));
    assert.equal(isolated.logs.filter((l) => l['msg'] === 'registered').length, 2, 'the healed worker registered a second time');
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    await lab.destroy();
  }
  assert.deepEqual(await lab.leftovers(), [], 'every namespace of the lab is gone');
});

test('a partition between two workers only: after repeated failed rings the most-blamed worker is evicted and quarantined, and the rest make progress while the partition lasts', { skip: skipReason ?? false, timeout: CHAOS_TEST_TIMEOUT_MS }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'chaos-pair-'));
  const lab = await NetnsLab.create({ tag: 'pair', workers: 3, subnet: '10.213.2' });
  const allreduceTimeoutMs = 2_000;
  let procs: Proc[] = [];
  try {
    const { coordinator, workers } = startLab(lab, dir, 'pair', ['--min-workers', '2', '--max-workers', '3', '--epochs', '2', '--allreduce-timeout-ms', String(allreduceTimeoutMs)]);
    procs = [coordinator, ...workers];
    await waitForSteps(dir, 3, STARTUP_MS);
    // w0 and w2 are ring neighbours (ring w0 → w1 → w2 → w0); both keep reaching the coordinator and w1,
    // so heartbeats cannot tell who is at fault: only the peers' blame can.
    const cutAt = Date.now();
    await lab.isolate(0, 2);
    const evicted = await coordinator.waitForLog((l) => l['msg'] === 'worker lost' && String(l['why']).startsWith('blamed by'), 3 * (allreduceTimeoutMs + 8_000), 'a blamed worker evicted');
    assert.ok(evicted['pod'] === 'w0' || evicted['pod'] === 'w2', `evicted ${String(evicted['pod'])}, one side of the partition`);
    const ring = await coordinator.waitForLog((l) => l['msg'] === 'new ring' && l['workers'] === 2, 20_000, 'a ring without the blamed worker');
    const stuckAt = (ring['start'] as { step: number }).step;
    await waitForSteps(dir, stuckAt + 2, 30_000);
    t.diagnostic(`partition → eviction ${ms(evicted) - cutAt} ms; progress resumed from step ${stuckAt} while still partitioned`);
    await lab.reunite(0, 2);
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    const summary = summaryOf<Summary>(done);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.workersLost, 1);
    assert.deepEqual(summary.samples.map((s) => [s.epoch, s.committed, s.exact]), [[1, 384, true], [2, 384, true]], 'every sample of every epoch committed exactly once');
    const blamed = workers[evicted['pod'] === 'w0' ? 0 : 2]!;
    assert.ok(blamed.logs.some((l) => /quarantined/.test(String(l['err']))), 'the evicted worker was kept out while quarantined');
  } finally {
    for (const p of procs) p.child.kill('SIGKILL');
    await lab.destroy();
  }
  assert.deepEqual(await lab.leftovers(), [], 'every namespace of the lab is gone');
});
