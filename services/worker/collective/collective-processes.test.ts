import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkerReply } from './collective-worker-process.js';
import { WorkerProcessError, WorkerRing } from './worker-ring.js';

type Verified = Extract<WorkerReply, { type: 'verified' }>;

test('separate worker processes all-reduce exactly (float32), within bounds (random, float16), and time a loop', async () => {
  const ring = await WorkerRing.start({ worldSize: 3, defaults: { chunkKb: 4, timeoutMs: 15_000 }, commandTimeoutMs: 30_000 });
  try {
    const runs: Array<{ values: 'integer' | 'random'; dtype: 'float32' | 'float16'; length: number }> = [
      { values: 'integer', dtype: 'float32', length: 10_007 },
      { values: 'integer', dtype: 'float32', length: 2 },
      { values: 'random', dtype: 'float32', length: 50_001 },
      { values: 'random', dtype: 'float16', length: 50_001 },
    ];
    for (const [index, run] of runs.entries()) {
      const replies = (await ring.all({ type: 'verify', id: ring.newId(), length: run.length, seed: index + 1, values: run.values, options: { dtype: run.dtype } }, 'verified')) as Verified[];
      for (const [rank, reply] of replies.entries()) {
        assert.equal(reply.mismatches, 0, `${JSON.stringify(run)} rank ${rank}: max error ${reply.maxAbsError} > ${reply.maxAllowed}`);
        if (run.values === 'integer' && run.dtype === 'float32') assert.equal(reply.maxAbsError, 0);
        else assert.ok(reply.maxAbsError > 0 && reply.maxAbsError <= reply.maxAllowed);
      }
    }
    const bench = await ring.all({ type: 'bench', id: ring.newId(), length: 65_536, warmup: 1, iters: 3 }, 'bench');
    for (const reply of bench) {
      const seconds = (reply as Extract<WorkerReply, { type: 'bench' }>).seconds;
      assert.equal(seconds.length, 3);
      assert.ok(seconds.every((s) => s > 0 && s < 10));
    }
  } finally {
    await ring.close();
  }
});

test('a rank that finished its all-reduce and starts computing does not hold back its neighbour', async () => {
  // A rank is done only once its last chunks are written to the socket, not merely queued: a
  // rank that went on to a synchronous forward pass with chunks still in Node's write queue held
  // its neighbour for that whole pass, and 2-worker training steps alternated between
  // ~compute and ~2×compute. It happens to the rank that arrives last (its neighbour's chunks are
  // already waiting, so it can receive the final one in the same tick in which it queued its own
  // last send; Node's HTTP/2 flushes on a later turn of the event loop): ResNet-20's 1.09 MB of
  // gradients, rank 1 arriving 200 ms after rank 0 and stalling 100 ms (a GC pause) early in the
  // operation, so that rank 0's chunks pile up in its socket.
  const busyMs = 1_500;
  const ring = await WorkerRing.start({ worldSize: 2, defaults: { timeoutMs: 15_000 }, commandTimeoutMs: 60_000 });
  try {
    const replies = await ring.all({ type: 'bench', id: ring.newId(), length: 272_477, warmup: 1, iters: 4, busyMs, lastRankExtraMs: 200, lastRankStallMs: 100 }, 'bench');
    for (const [rank, reply] of replies.entries()) {
      // The first timed iteration follows the barrier; the later ones follow a busy period, and
      // rank 0 then waits ~300 ms for rank 1 (not ~1.8 s).
      const afterBusy = (reply as Extract<WorkerReply, { type: 'bench' }>).seconds.slice(1);
      const worst = Math.max(...afterBusy);
      assert.ok(worst < (busyMs / 1000) * 0.6, `rank ${rank}: all-reduce times ${afterBusy.map((s) => s.toFixed(3)).join(', ')} s; ${busyMs} ms is the other rank's compute`);
    }
  } finally {
    await ring.close();
  }
});

test('a stopped worker process (SIGSTOP) makes the others fail within the deadline, naming it', async () => {
  const timeoutMs = 600;
  const ring = await WorkerRing.start({ worldSize: 3, defaults: { chunkKb: 4, timeoutMs }, commandTimeoutMs: 20_000 });
  const stopped = ring.children[2]!;
  try {
    stopped.kill('SIGSTOP');
    const started = Date.now();
    const id = ring.newId();
    const results = await Promise.allSettled([0, 1].map((rank) => ring.request(rank, { type: 'verify', id, length: 20_000, seed: 3, values: 'integer' }, 'verified')));
    const elapsedMs = Date.now() - started;
    for (const [rank, result] of results.entries()) {
      assert.equal(result.status, 'rejected', `rank ${rank} must fail`);
      const error = (result as PromiseRejectedResult).reason as WorkerProcessError;
      assert.ok(error instanceof WorkerProcessError);
      assert.match(error.message, /rank 2 \(127\.0\.0\.1:\d+\)/, error.message);
      assert.match(error.message, /all-reduce step 0/);
    }
    assert.equal(((results[0] as PromiseRejectedResult).reason as WorkerProcessError).remoteName, 'CollectiveTimeoutError');
    assert.ok(elapsedMs < timeoutMs * 2 + 3_000, `failed after ${elapsedMs} ms`);
  } finally {
    stopped.kill('SIGCONT');
    await ring.close();
  }
});
