/**
 * The contract the training step relies on when it all-reduces gradient buckets as they reach
 * the host: `allReduce(bucket_k, { step })` for k = 0..K−1, issued without awaiting, in the same
 * order on every rank. Every bucket is reduced with its counterparts, operations start in issue
 * order with at most `bucketsInFlight` running, and the calls resolve in issue order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkRejectedError, PeerFailedError } from './collective-errors.js';
import { startRing } from './ring-fixture.js';

/** Bucket sizes in reverse layer order, as a ResNet's would come: large, small, tiny, large, … */
const BUCKET_ELEMENTS = [40_000, 300, 7, 25_000, 1, 9_999];

function bucketsOf(rank: number): Float32Array[] {
  return BUCKET_ELEMENTS.map((n, k) => Float32Array.from({ length: n }, (_, i) => ((i * 31 + k * 7 + rank * 13) % 201) - 100));
}

test('buckets all-reduced back to back pipeline in order on every rank and resolve in issue order', async () => {
  const worldSize = 3;
  const bucketsInFlight = 2;
  const ring = await startRing(worldSize, { chunkKb: 8, timeoutMs: 20_000, bucketsInFlight });
  try {
    const buffers = ring.nodes.map((_, r) => bucketsOf(r));
    const expected = BUCKET_ELEMENTS.map((n, k) => Float32Array.from({ length: n }, (_, i) => buffers.reduce((sum, b) => sum + b[k]![i]!, 0)));
    const resolved = ring.nodes.map(() => [] as number[]);
    const queuedWhenFirstResolved: number[] = [];
    // Each rank issues every bucket before awaiting any of them (a rank may be late: rank 2 issues after a pause).
    const issue = (rank: number): Promise<void>[] =>
      buffers[rank]!.map((bucket, k) =>
        ring.nodes[rank]!.allReduce(bucket, { step: 41 }).then(() => {
          if (k === 0) queuedWhenFirstResolved.push(ring.nodes[rank]!.operations.queued + ring.nodes[rank]!.operations.inFlight);
          resolved[rank]!.push(k);
        }),
      );
    const calls = [...issue(0), ...issue(1)];
    assert.deepEqual(ring.nodes.slice(0, 2).map((n) => n.operations), [{ inFlight: 2, queued: 4 }, { inFlight: 2, queued: 4 }], 'at most bucketsInFlight start; the rest wait their turn');
    await new Promise((resolve) => setTimeout(resolve, 50));
    calls.push(...issue(2));
    await Promise.all(calls);
    for (let r = 0; r < worldSize; r++) {
      assert.deepEqual(resolved[r], BUCKET_ELEMENTS.map((_, k) => k), `rank ${r} resolves buckets in issue order`);
      buffers[r]!.forEach((b, k) => assert.deepEqual(b, expected[k], `rank ${r} bucket ${k}`));
    }
    assert.ok(queuedWhenFirstResolved.every((left) => left > 0), `later buckets were still on their way when bucket 0 resolved: ${queuedWhenFirstResolved.join(', ')}`);
    assert.deepEqual(ring.nodes.map((n) => n.operations), ring.nodes.map(() => ({ inFlight: 0, queued: 0 })));
  } finally {
    await ring.close();
  }
});

test('a bucket the ranks disagree on fails alone: the buckets after it still complete, and everything settles in order', async () => {
  const ring = await startRing(2, { chunkKb: 4, timeoutMs: 10_000 });
  try {
    const buffers = ring.nodes.map((_, r) => bucketsOf(r));
    // Rank 1's bucket 2 has one element too many.
    buffers[1]![2] = new Float32Array(BUCKET_ELEMENTS[2]! + 1);
    const settled = ring.nodes.map(() => [] as string[]);
    const results = await Promise.all(
      ring.nodes.map((node, r) =>
        Promise.all(
          buffers[r]!.map((bucket, k) =>
            node.allReduce(bucket, { step: 5 }).then(
              () => void settled[r]!.push(`${k} ok`),
              (error: unknown) => {
                settled[r]!.push(`${k} failed`);
                return error;
              },
            ),
          ),
        ),
      ),
    );
    for (let r = 0; r < 2; r++) {
      assert.deepEqual(settled[r], BUCKET_ELEMENTS.map((_, k) => (k === 2 ? `${k} failed` : `${k} ok`)), `rank ${r}`);
      const error = results[r]![2];
      assert.ok(error instanceof ChunkRejectedError || error instanceof PeerFailedError, String(error));
      assert.match((error as Error).message, /totalLength is/);
    }
    for (const k of [0, 1, 3, 4, 5]) assert.deepEqual(buffers[0]![k], buffers[1]![k], `bucket ${k} reduced on both ranks`);
  } finally {
    await ring.close();
  }
});
