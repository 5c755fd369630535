/**
 * What a float16 wire costs in equivalence: 2 workers × B and 4 workers × B/2 with
 * `--allreduce-dtype float16` (float16 transport, float32 accumulation — the default on rings of
 * GPU ranks) against 1 worker × 2B, the same seed and data order as distributed.test.ts. The
 * float32 wire agrees to 1e-4 there; float16 rounds every gradient to 11 significant bits on
 * each hop, so the runs drift apart, boundedly. The replicas stay bit-identical (each segment's
 * owner rounds before the all-gather, so every rank applies the same update).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxRelDiff, runDdp, type DdpRun } from './ddp-harness.js';

/**
 * Bounds after the 12 steps of this run (2 epochs of 6). Measured 2026-12-04: the loss of every
 * step within 4.3e-7 (2 workers) and 7.3e-7 (4 workers) relative, the final weights within
 * 1.03e-4 and 1.06e-4 of each tensor's largest value — against 1.0e-6 with the float32 wire. The
 * bounds leave 10× room: a float16 rounding is ≤ 2^-11 ≈ 4.9e-4 relative per hop, and SGD averages
 * the roundings of successive steps rather than compounding them on a run this short.
 */
export const FP16_LOSS_REL_TOLERANCE = 1e-5;
export const FP16_WEIGHT_REL_TOLERANCE = 1e-3;

/** The float32 equivalence job with the given wire format. */
function run(root: string, name: string, workers: number, batch: number, dtype: string): Promise<DdpRun> {
  return runDdp(root, name, workers, batch, 'cnn-nobn', ['--allreduce-dtype', dtype]);
}

test('float16 wire: 2 × B and 4 × B/2 stay within a bound of 1 × 2B after 12 steps; replicas stay identical; half the bytes', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ddp-fp16-'));
  const one = await run(root, 'one', 1, 32, 'float32');
  const two32 = await run(root, 'two32', 2, 16, 'float32');
  for (const [workers, batch] of [[2, 16], [4, 8]] as const) {
    const fp16 = await run(root, `fp16-${workers}`, workers, batch, 'float16');
    assert.equal(fp16.losses.length, one.losses.length);
    const lossRel = Math.max(...one.losses.map((l, i) => Math.abs(l - fp16.losses[i]!) / Math.max(1, Math.abs(l))));
    const weightRel = maxRelDiff(one.weights, fp16.weights);
    t.diagnostic(`${workers} workers, float16 wire: loss ≤ ${lossRel.toExponential(2)} relative, weights ≤ ${weightRel.toExponential(2)} (float32 wire, 2 workers: weights ≤ ${maxRelDiff(one.weights, two32.weights).toExponential(2)})`);
    assert.ok(lossRel <= FP16_LOSS_REL_TOLERANCE, `${workers} workers: loss differs by up to ${lossRel} (relative)`);
    assert.ok(weightRel <= FP16_WEIGHT_REL_TOLERANCE, `${workers} workers: final weights differ by ${weightRel}`);
    assert.ok(weightRel > 10 * maxRelDiff(one.weights, two32.weights), 'float16 rounding shows (the wire really was float16)');
    for (const e of fp16.epochs) assert.equal(e['replicasIdentical'], true, `${workers} workers, epoch ${e['epoch']}: replicas diverged`);
    if (workers === 2) {
      assert.equal(fp16.summary['allreduceBytes'], (two32.summary['allreduceBytes'] as number) / 2, 'float16 moves half the bytes of float32');
    }
  }
});
