import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../core/errors.js';
import { BatchIterator, batchesPerEpoch } from './batch-iterator.js';
import { DistributedSampler, type DistributedSamplerOptions } from './distributed-sampler.js';

function shards(options: Omit<DistributedSamplerOptions, 'rank'>, epoch = 0): Int32Array[] {
  return Array.from({ length: options.worldSize }, (_, rank) => {
    const s = new DistributedSampler({ ...options, rank });
    s.setEpoch(epoch);
    return s.indices();
  });
}

const sorted = (xs: Iterable<number>): number[] => [...xs].sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test('divisible size: shards are equal, disjoint and cover everything', () => {
  const parts = shards({ size: 12, worldSize: 4, seed: 3 });
  for (const p of parts) assert.equal(p.length, 3);
  assert.deepEqual(sorted(parts.flatMap((p) => [...p])), range(12));
});

test('padding wraps to the start of the order; union covers everything; sizes equal', () => {
  // size 10, world 4: numSamples 3, totalSize 12, the last 2 slots repeat order[0], order[1].
  const sampler = new DistributedSampler({ size: 10, rank: 0, worldSize: 4, shuffle: false });
  assert.equal(sampler.numSamples, 3);
  assert.equal(sampler.totalSize, 12);
  const parts = shards({ size: 10, worldSize: 4, shuffle: false });
  assert.deepEqual(parts.map((p) => [...p]), [
    [0, 4, 8],
    [1, 5, 9],
    [2, 6, 0],
    [3, 7, 1],
  ]);
  // Shuffled: the same structure over the permutation.
  const order = new DistributedSampler({ size: 10, rank: 0, worldSize: 4, seed: 9 }).order();
  const shuffled = shards({ size: 10, worldSize: 4, seed: 9 });
  assert.deepEqual([...shuffled[2]!], [order[2], order[6], order[0]]);
  assert.deepEqual([...shuffled[3]!], [order[3], order[7], order[1]]);
  assert.deepEqual(new Set(shuffled.flatMap((p) => [...p])), new Set(range(10)));
  // Padding longer than the dataset wraps repeatedly: size 3, world 8 ⇒ 0,1,2,0,1,2,0,1.
  assert.deepEqual(shards({ size: 3, worldSize: 8, shuffle: false }).map((p) => p[0]), [0, 1, 2, 0, 1, 2, 0, 1]);
});

test('dropLast truncates the tail so shards are equal and disjoint', () => {
  const parts = shards({ size: 10, worldSize: 4, shuffle: false, dropLast: true });
  assert.deepEqual(parts.map((p) => [...p]), [
    [0, 4],
    [1, 5],
    [2, 6],
    [3, 7],
  ]);
  const shuffled = shards({ size: 103, worldSize: 5, seed: 1, dropLast: true }, 2);
  const all = shuffled.flatMap((p) => [...p]);
  for (const p of shuffled) assert.equal(p.length, 20);
  assert.equal(new Set(all).size, 100);
  // dropLast with a divisible size changes nothing.
  assert.deepEqual(shards({ size: 12, worldSize: 4, seed: 3, dropLast: true }), shards({ size: 12, worldSize: 4, seed: 3 }));
});

test('order depends on seed + epoch only: same on every rank, changes with the epoch', () => {
  const s = new DistributedSampler({ size: 50, rank: 1, worldSize: 2, seed: 7 });
  const e0 = s.indices();
  assert.deepEqual(s.indices(), e0); // without setEpoch the order repeats (as in PyTorch)
  s.setEpoch(1);
  assert.equal(s.epoch, 1);
  const e1 = s.indices();
  assert.notDeepEqual(e1, e0);
  assert.equal(e1.length, 25);
  // seed 7 epoch 1 ≡ seed 8 epoch 0 (the documented seed + epoch rule).
  assert.deepEqual(new DistributedSampler({ size: 50, rank: 1, worldSize: 2, seed: 8 }).indices(), e1);
  // Each epoch's shards still partition the data.
  assert.deepEqual(sorted(shards({ size: 50, worldSize: 2, seed: 7 }, 1).flatMap((p) => [...p])), range(50));
  // No shuffle: identity order in every epoch.
  const plain = new DistributedSampler({ size: 6, rank: 0, worldSize: 2, shuffle: false });
  plain.setEpoch(5);
  assert.deepEqual([...plain.indices()], [0, 2, 4]);
});

test('invalid rank, worldSize, size, epoch are ConfigErrors naming the key', () => {
  const bad: Array<[Partial<DistributedSamplerOptions>, string]> = [
    [{ rank: 4, worldSize: 4 }, 'rank'],
    [{ rank: -1 }, 'rank'],
    [{ rank: 0.5 }, 'rank'],
    [{ worldSize: 0 }, 'worldSize'],
    [{ size: -1 }, 'size'],
    [{ seed: 1.5 }, 'seed'],
  ];
  for (const [patch, key] of bad) {
    assert.throws(
      () => new DistributedSampler({ size: 10, rank: 0, worldSize: 2, ...patch }),
      (err: unknown) => err instanceof ConfigError && err.key === key,
      JSON.stringify(patch),
    );
  }
  assert.throws(() => new DistributedSampler({ size: 10, rank: 0, worldSize: 2 }).setEpoch(-1), (err: unknown) => err instanceof ConfigError && err.key === 'epoch');
  assert.equal(new DistributedSampler({ size: 0, rank: 0, worldSize: 3 }).indices().length, 0);
});

test('batch iterator cuts the shard and resumes from a sample position', () => {
  const shard = Int32Array.from(range(10).map((i) => 100 + i));
  const full = [...new BatchIterator(shard, { batchSize: 4 })];
  assert.deepEqual(full.map((b) => [...b.indices]), [
    [100, 101, 102, 103],
    [104, 105, 106, 107],
    [108, 109],
  ]);
  assert.deepEqual(full.map((b) => [b.start, b.end]), [
    [0, 4],
    [4, 8],
    [8, 10],
  ]);
  assert.equal([...new BatchIterator(shard, { batchSize: 4, dropLast: true })].length, 2);
  assert.equal(batchesPerEpoch(10, 4), 3);
  assert.equal(batchesPerEpoch(10, 4, true), 2);

  // Interrupt after the first batch, then resume from the checkpointed position.
  const it = new BatchIterator(shard, { batchSize: 4 });
  it.next();
  const checkpoint = it.position;
  assert.equal(checkpoint, 4);
  const resumed = new BatchIterator(shard, { batchSize: 4, start: checkpoint });
  assert.equal(resumed.remainingBatches, 2);
  assert.deepEqual([...resumed].map((b) => [...b.indices]), full.slice(1).map((b) => [...b.indices]));
  // A resume with a different batch size still continues at the same sample.
  assert.deepEqual([...new BatchIterator(shard, { batchSize: 3, start: 4 })].map((b) => b.indices[0]), [104, 107]);
  assert.equal([...new BatchIterator(shard, { batchSize: 3, start: 10 })].length, 0);

  assert.throws(() => new BatchIterator(shard, { batchSize: 0 }), (e: unknown) => e instanceof ConfigError && e.key === 'batchSize');
  assert.throws(() => new BatchIterator(shard, { batchSize: 2, start: 11 }), (e: unknown) => e instanceof ConfigError && e.key === 'start');
});
