import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from './random.js';

test('same seed gives the same stream; state snapshot resumes it exactly', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  for (let i = 0; i < 100; i++) assert.equal(a.nextUint32(), b.nextUint32());
  const snap = a.state();
  const expected = Array.from({ length: 50 }, () => a.next());
  const resumed = new Rng(snap);
  assert.deepEqual(Array.from({ length: 50 }, () => resumed.next()), expected);
  assert.notEqual(new Rng(1).nextUint32(), new Rng(2).nextUint32());
});

test('nextInt is uniform and within bounds; permutation is a permutation', () => {
  const rng = new Rng(7);
  const counts = new Array(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[rng.nextInt(10)]++;
  for (const c of counts) assert.ok(Math.abs(c - n / 10) < 5 * Math.sqrt(n / 10), `count ${c} far from ${n / 10}`);
  const perm = rng.permutation(1000);
  assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.throws(() => rng.nextInt(0), /nextInt bound/);
});

test('gaussian samples have mean 0 and variance 1', () => {
  const rng = new Rng(3);
  let s = 0;
  let s2 = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const g = rng.nextGaussian();
    s += g;
    s2 += g * g;
  }
  assert.ok(Math.abs(s / n) < 0.01);
  assert.ok(Math.abs(s2 / n - 1) < 0.02);
});
