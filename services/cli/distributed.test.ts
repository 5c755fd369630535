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
import { readCheckpointFile } from '../core/checkpoint/checkpoint-file.js';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { readMetrics } from '../core/training/run-dir.js';
import { lastJsonLine, runCli } from './cli-harness.js';

/**
 * Documented tolerance: per-replica mean gradients averaged in a different order than one big
 * batch's mean differ by float32 rounding (~1e-7 relative per step), which SGD carries forward.
 */
export const EQUIVALENCE_REL_TOLERANCE = 1e-4;

interface Run {
  summary: Record<string, unknown>;
  losses: number[];
  epochs: Record<string, unknown>[];
  weights: Map<string, Float32Array>;
}

async function run(root: string, name: string, workers: number, batch: number, model: string, extra: readonly string[] = []): Promise<Run> {
  const dir = join(root, name);
  const res = await runCli([
    'train', '--workers', String(workers), '--batch-size', String(batch), '--model', model, '--data', 'synthetic', '--synthetic-train', '192',
    '--synthetic-test', '64', '--epochs', '2', '--seed', '3', '--loss', 'el', '--lr', '0.05', '--experiment', name, '--run-dir', dir, '--log-level', 'warn',
    '--no-report', // equivalence only; the report is covered by report-command.test.ts
    ...extra,
  ]);
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
  const store = new CheckpointStore(join(dir, 'checkpoints'));
  const last = Math.max(...(await store.steps()));
  const ckpt = await readCheckpointFile(join(dir, 'checkpoints', CheckpointStore.fileName(last)));
  return {
    summary: lastJsonLine(res.stdout),
    losses: metrics.filter((m) => m.type === 'step').map((m) => m['loss'] as number),
    epochs: metrics.filter((m) => m.type === 'epoch'),
    weights: new Map([...ckpt.tensors].filter(([k]) => !k.startsWith('optimizer')).map(([k, t]) => [k, t.data])),
  };
}

function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    let scale = 0;
    for (const v of x) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(scale, 1e-12));
  }
  return worst;
}

test('1 worker × 2B = 2 workers × B = 4 workers × B/2 without BatchNorm; replicas stay identical', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ddp-'));
  const one = await run(root, 'one', 1, 32, 'cnn-nobn');
  const two = await run(root, 'two', 2, 16, 'cnn-nobn');
  const four = await run(root, 'four', 4, 8, 'cnn-nobn');
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
  const one = await run(root, 'one', 1, 32, 'cnn-nobn', gpu);
  const two = await run(root, 'two', 2, 16, 'cnn-nobn', gpu);
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
  const one = await run(root, 'one', 1, 32, 'cnn-small');
  const two = await run(root, 'two', 2, 16, 'cnn-small');
  const rel = one.losses.map((l, i) => Math.abs(l - two.losses[i]!) / l);
  assert.ok(Math.max(...rel) > 1e-6, 'normalising with 16-example statistics changes the loss');
  // Bound: batch statistics of 16 vs 32 examples differ by sampling noise only, so the loss curves
  // stay within a few percent over this run.
  const meanRel = rel.reduce((a, b) => a + b, 0) / rel.length;
  assert.ok(meanRel < 0.05, `mean relative loss difference ${meanRel}`);
  for (const e of two.epochs) assert.equal(e['replicasIdentical'], true);
});
