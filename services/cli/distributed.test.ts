/**
 * Data-parallel equivalence with real processes: a coordinator and N `encourage worker` processes
 * all-reducing over gRPC on loopback. N workers at batch B must learn what one worker learns at
 * batch N·B (same seed, data order and float32 wire), up to float32 summation order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxRelDiff, runDdp } from './ddp-harness.js';

/**
 * Documented tolerance: per-replica mean gradients averaged in a different order than one big
 * batch's mean differ by float32 rounding (~1e-7 relative per step), which SGD carries forward.
 */
export const EQUIVALENCE_REL_TOLERANCE = 1e-4;

test('1 worker × 2B = 2 workers × B = 4 workers × B/2 without BatchNorm; replicas stay identical', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ddp-'));
  const one = await runDdp(root, 'one', 1, 32, 'cnn-nobn');
  const two = await runDdp(root, 'two', 2, 16, 'cnn-nobn');
  const four = await runDdp(root, 'four', 4, 8, 'cnn-nobn');
  assert.equal(one.losses.length, 12);
  for (const other of [two, four]) {
    assert.equal(other.losses.length, one.losses.length);
    one.losses.forEach((l, i) => assert.ok(Math.abs(l - other.losses[i]!) <= EQUIVALENCE_REL_TOLERANCE * Math.max(1, Math.abs(l)), `step ${i + 1}: loss ${l} vs ${other.losses[i]}`));
    const diff = maxRelDiff(one.weights, other.weights);
    assert.ok(diff <= EQUIVALENCE_REL_TOLERANCE, `final weights differ by ${diff} (relative to each tensor's largest value)`);
    for (const e of other.epochs) assert.equal(e['replicasIdentical'], true, `epoch ${e['epoch']}: replicas diverged`);
    assert.equal(other.summary['testAccuracy'], one.summary['testAccuracy']);
  }
  assert.equal(four.summary['workers'], 4);
  assert.ok((four.summary['allreduceBytes'] as number) > 0);
});

// The same equivalence on the webgpu backend (lavapipe in CI), float32 on the wire, with the
// gradient read and reduced in several buckets: the device-resident step reads, reduces and
// uploads per bucket, and the result must not depend on it.
const vulkan = (await import('webgpu').then((d) => d.create([]).requestAdapter())) !== null;
test('on webgpu: 1 worker × 2B = 2 workers × B without BatchNorm; replicas stay identical', { skip: vulkan ? false : 'no Vulkan adapter on this machine' }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'ddp-webgpu-'));
  const gpu = ['--backend', 'webgpu', '--allreduce-dtype', 'float32', '--bucket-mb', '0.02'];
  const one = await runDdp(root, 'one', 1, 32, 'cnn-nobn', gpu);
  const two = await runDdp(root, 'two', 2, 16, 'cnn-nobn', gpu);
  assert.equal(one.summary['backend'], 'webgpu');
  assert.match(String(two.summary['device']), /\(software\)|nvidia|amd|intel/i, 'the adapter is reported');
  assert.equal(two.losses.length, one.losses.length);
  one.losses.forEach((l, i) => assert.ok(Math.abs(l - two.losses[i]!) <= EQUIVALENCE_REL_TOLERANCE * Math.max(1, Math.abs(l)), `step ${i + 1}: loss ${l} vs ${two.losses[i]}`));
  const diff = maxRelDiff(one.weights, two.weights);
  assert.ok(diff <= EQUIVALENCE_REL_TOLERANCE, `final weights differ by ${diff}`);
  for (const e of two.epochs) assert.equal(e['replicasIdentical'], true, `epoch ${e['epoch']}: replicas diverged`);
});

test('with BatchNorm, per-replica batch statistics make 2 × B differ from 1 × 2B — boundedly', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ddp-bn-'));
  const one = await runDdp(root, 'one', 1, 32, 'cnn-small');
  const two = await runDdp(root, 'two', 2, 16, 'cnn-small');
  const rel = one.losses.map((l, i) => Math.abs(l - two.losses[i]!) / l);
  assert.ok(Math.max(...rel) > 1e-6, 'normalising with 16-example statistics changes the loss');
  // Bound: batch statistics of 16 vs 32 examples differ by sampling noise only, so the loss curves
  // stay within a few percent over this run.
  const meanRel = rel.reduce((a, b) => a + b, 0) / rel.length;
  assert.ok(meanRel < 0.05, `mean relative loss difference ${meanRel}`);
  for (const e of two.epochs) assert.equal(e['replicasIdentical'], true);
});
