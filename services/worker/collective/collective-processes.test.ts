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
