import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/random.js';
import { ChunkRejectedError } from './collective-errors.js';
import { allReduce } from './ring-allreduce.js';
import { FLOAT16_SUBNORMAL_ABS_ERROR, FLOAT16_UNIT_ROUNDOFF } from './fp16.js';
import { startRing } from './ring-fixture.js';

/** Inputs per rank: small integers (float32 sums of a few of them are exact) or uniform [-1, 1). */
function inputs(worldSize: number, length: number, seed: number, kind: 'integer' | 'random'): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: worldSize }, () =>
    Float32Array.from({ length }, () => (kind === 'integer' ? rng.nextInt(2001) - 1000 : rng.next() * 2 - 1)),
  );
}

/** Exact sums (float64) and sums of magnitudes, for error bounds. */
function exactSums(buffers: Float32Array[]): { sum: Float64Array; magnitude: Float64Array } {
  const length = buffers[0]!.length;
  const sum = new Float64Array(length);
  const magnitude = new Float64Array(length);
  for (const b of buffers) {
    for (let i = 0; i < length; i++) {
      sum[i]! += b[i]!;
      magnitude[i]! += Math.abs(b[i]!);
    }
  }
  return { sum, magnitude };
}

test('integer-valued buffers of odd sizes sum exactly on 2–5 ranks (chunks, segments and lanes all uneven)', async () => {
  for (const worldSize of [2, 3, 4, 5]) {
    // chunkKb 1 → 256 float32 per chunk, so 1009 and 2503 elements cut into many uneven chunks.
    const ring = await startRing(worldSize, { chunkKb: 1, timeoutMs: 10_000, lanes: worldSize % 2 === 0 ? 2 : 3 });
    try {
      for (const length of [1, 2, worldSize - 1, worldSize + 1, 1009, 2503]) {
        const buffers = inputs(worldSize, length, worldSize * 100 + length, 'integer');
        const { sum } = exactSums(buffers);
        await Promise.all(ring.nodes.map((node, r) => node.allReduce(buffers[r]!, { step: length })));
        for (const [r, b] of buffers.entries()) assert.deepEqual(Array.from(b), Array.from(sum), `N=${worldSize} n=${length} rank ${r}`);
      }
    } finally {
      await ring.close();
    }
  }
});

test('random values: every rank gets the same float32 sum, within N·2^-24 of the exact one', async () => {
  const worldSize = 4;
  const ring = await startRing(worldSize, { chunkKb: 4, timeoutMs: 10_000 });
  try {
    const length = 30_011;
    const buffers = inputs(worldSize, length, 9, 'random');
    const { sum, magnitude } = exactSums(buffers);
    // The free function over a node's ring, as the method uses it.
    await Promise.all(ring.nodes.map((node, r) => allReduce(buffers[r]!, { ring: node.ring })));
    for (let i = 0; i < length; i++) {
      // Each element is accumulated in float32 along the ring: N−1 additions, each rounding by at
      // most 2^-24 relative to the partial sum, bounded by the sum of magnitudes.
      assert.ok(Math.abs(buffers[0]![i]! - sum[i]!) <= worldSize * 2 ** -24 * magnitude[i]!, `element ${i}`);
      for (const b of buffers) assert.equal(b[i], buffers[0]![i], 'ranks agree bit for bit');
    }
  } finally {
    await ring.close();
  }
});

test('float16 wire: within the rounding bound, bit-identical on all ranks, exact for small integers', async () => {
  const worldSize = 3;
  const ring = await startRing(worldSize, { chunkKb: 2, dtype: 'float16', timeoutMs: 10_000, lanes: 2 });
  try {
    const length = 10_007;
    const buffers = inputs(worldSize, length, 21, 'random');
    const { sum, magnitude } = exactSums(buffers);
    await Promise.all(ring.nodes.map((node, r) => node.allReduce(buffers[r]!)));
    // Bound asserted: the value sent at each of the N hops of an element's journey (N−1 partial
    // sums in reduce-scatter plus the owner's rounding before all-gather) is rounded to float16
    // once, with relative error ≤ u = 2^-11 of a partial sum whose magnitude is ≤ Σ|x_i|, or
    // absolute error ≤ 2^-25 in the subnormal range: |result − exact| ≤ N·(u·Σ|x_i| + 2^-25).
    let worst = 0;
    for (let i = 0; i < length; i++) {
      const bound = worldSize * (FLOAT16_UNIT_ROUNDOFF * magnitude[i]! + FLOAT16_SUBNORMAL_ABS_ERROR);
      const error = Math.abs(buffers[0]![i]! - sum[i]!);
      assert.ok(error <= bound, `element ${i}: error ${error} > bound ${bound}`);
      worst = Math.max(worst, error / bound);
      for (const b of buffers) assert.equal(b[i], buffers[0]![i], 'ranks agree bit for bit');
    }
    assert.ok(worst > 0, 'float16 rounding actually happened');

    // Integers up to 2048 are exact in float16, so small integer sums come out exact.
    const ints = Array.from({ length: worldSize }, (_, r) => Float32Array.from({ length: 999 }, (_, i) => ((i * 7 + r * 13) % 601) - 300));
    const exact = exactSums(ints).sum;
    await Promise.all(ring.nodes.map((node, r) => node.allReduce(ints[r]!)));
    for (const b of ints) assert.deepEqual(Array.from(b), Array.from(exact));
  } finally {
    await ring.close();
  }
});

test('buffers larger than a bucket go bucket by bucket, overlapped or not; back-to-back calls stay matched', async () => {
  const worldSize = 3;
  const ring = await startRing(worldSize, { chunkKb: 2, timeoutMs: 10_000 });
  try {
    const length = 12_345;
    for (const bucketsInFlight of [1, 3]) {
      const buffers = inputs(worldSize, length, bucketsInFlight, 'integer');
      const { sum } = exactSums(buffers);
      // bucketMb 0.01 → 2621 floats per bucket → 5 buckets, the last one partial.
      await Promise.all(ring.nodes.map((node, r) => node.allReduce(buffers[r]!, { bucketMb: 0.01, bucketsInFlight })));
      for (const b of buffers) assert.deepEqual(Array.from(b), Array.from(sum));
    }
    // Two calls issued without waiting, in the same order on every rank (the NCCL contract).
    const first = inputs(worldSize, 777, 1, 'integer');
    // Small integers: every partial sum stays below 2048, where float16 is exact.
    const second = inputs(worldSize, 5000, 2, 'integer').map((b) => b.map((v) => Math.round(v / 4)));
    const sums = [exactSums(first).sum, exactSums(second).sum];
    await Promise.all(ring.nodes.flatMap((node, r) => [node.allReduce(first[r]!), node.allReduce(second[r]!, { dtype: 'float16' })]));
    for (const b of first) assert.deepEqual(Array.from(b), Array.from(sums[0]!));
    for (const b of second) assert.deepEqual(Array.from(b), Array.from(sums[1]!));
  } finally {
    await ring.close();
  }
});

test('ranks that disagree on step, size or dtype fail with ChunkRejectedError naming the field', async () => {
  const ring = await startRing(2, { chunkKb: 1, timeoutMs: 5_000 });
  try {
    const cases: Array<{ field: string; options: [object, object]; lengths: [number, number] }> = [
      { field: 'step', options: [{ step: 7 }, { step: 8 }], lengths: [100, 100] },
      { field: 'totalLength', options: [{}, {}], lengths: [100, 101] },
      { field: 'dtype', options: [{ dtype: 'float32' }, { dtype: 'float16' }], lengths: [100, 100] },
    ];
    for (const { field, options, lengths } of cases) {
      const results = await Promise.allSettled(ring.nodes.map((node, r) => node.allReduce(new Float32Array(lengths[r]!), options[r]!)));
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(rejected.length, 2, `${field}: both ranks fail`);
      const named = rejected.map((r) => r.reason as Error).find((e) => e instanceof ChunkRejectedError);
      assert.ok(named instanceof ChunkRejectedError, `${field}: ${rejected.map((r) => (r.reason as Error).message).join(' | ')}`);
      assert.equal(named.field, field);
      // The other rank learns it from the peer's status, with the same message.
      assert.ok(rejected.every((r) => (r.reason as Error).message.includes(`${field} is`)), rejected.map((r) => (r.reason as Error).message).join(' | '));
    }
  } finally {
    await ring.close();
  }
});
