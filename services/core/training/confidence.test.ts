import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfidenceAccumulator, binOf, DEFAULT_CONFIDENCE_EDGES } from './confidence.js';

/**
 * A hand-computed batch of 2 examples, 3 classes, with the CE gradient (p − y)/B:
 *   ex 0: logits [ln 0.95, ln 0.03, ln 0.02], y = 0 → p_y = 0.95, per-example grad (p − y) = [−0.05, 0.03, 0.02]
 *   ex 1: logits [ln 0.2,  ln 0.5,  ln 0.3],  y = 2 → p_y = 0.3,  per-example grad = [0.2, 0.5, −0.7]
 */
test('bins, per-example gradient norms, shares and margins of a hand-computed batch', () => {
  const logits = [Math.log(0.95), Math.log(0.03), Math.log(0.02), Math.log(0.2), Math.log(0.5), Math.log(0.3)];
  const perExample = [-0.05, 0.03, 0.02, 0.2, 0.5, -0.7];
  const grad = perExample.map((g) => g / 2);
  const acc = new ConfidenceAccumulator();
  acc.addBatch(logits, grad, [0, 2], 3);
  const t = acc.table();
  const n0 = Math.hypot(-0.05, 0.03, 0.02);
  const n1 = Math.hypot(0.2, 0.5, -0.7);
  const b1 = t.bins[1]!; // [0.25, 0.5) holds p_y = 0.3
  const b4 = t.bins[4]!; // [0.9, 0.99) holds p_y = 0.95
  assert.equal(b1.count, 1);
  assert.equal(b4.count, 1);
  assert.ok(Math.abs(b1.meanGradNorm - n1) < 1e-12);
  assert.ok(Math.abs(b4.meanGradNorm - n0) < 1e-12);
  assert.ok(Math.abs(b4.gradMassShare - n0 / (n0 + n1)) < 1e-12);
  assert.ok(Math.abs(t.bins.reduce((s, b) => s + b.gradMassShare, 0) - 1) < 1e-12);
  assert.equal(t.bins.filter((b) => b.count === 0).length, 4);
  const margin0 = Math.log(0.95) - Math.log(0.03);
  const margin1 = Math.log(0.3) - Math.log(0.5);
  assert.ok(Math.abs(t.meanMargin - (margin0 + margin1) / 2) < 1e-12);
  assert.ok(Math.abs(t.meanPy - (0.95 + 0.3) / 2) < 1e-12);
});

test('bin boundaries: [lo, hi) with the last bin closed', () => {
  const e = DEFAULT_CONFIDENCE_EDGES;
  assert.equal(binOf(e, 0), 0);
  assert.equal(binOf(e, 0.25), 1);
  assert.equal(binOf(e, 0.9899), 4);
  assert.equal(binOf(e, 0.99), 5);
  assert.equal(binOf(e, 1), 5);
  assert.throws(() => new ConfidenceAccumulator([0, 0.5, 0.4, 1]), /increase strictly/);
});

test('merging accumulators equals accumulating everything in one', () => {
  const logits = [2, 0, -1, 0.1, 0.2, 0.3, 5, -5, 0, 1, 1, 1];
  const grad = logits.map((x) => x / 10);
  const labels = [0, 2, 0, 1];
  const all = new ConfidenceAccumulator();
  all.addBatch(logits, grad, labels, 3);
  const a = new ConfidenceAccumulator();
  const b = new ConfidenceAccumulator();
  // Same per-example gradients: a half-batch's mean-loss gradient is twice as large per row.
  a.addBatch(logits.slice(0, 6), grad.slice(0, 6).map((g) => g * 2), labels.slice(0, 2), 3);
  b.addBatch(logits.slice(6), grad.slice(6).map((g) => g * 2), labels.slice(2), 3);
  a.merge(b);
  const ta = a.table();
  const tall = all.table();
  assert.equal(ta.examples, 4);
  ta.bins.forEach((bin, i) => {
    const ref = tall.bins[i]!;
    assert.equal(bin.count, ref.count);
    assert.ok(Math.abs(bin.meanGradNorm - ref.meanGradNorm) < 1e-12 && Math.abs(bin.gradMassShare - ref.gradMassShare) < 1e-12);
  });
  assert.ok(Math.abs(ta.meanMargin - tall.meanMargin) < 1e-12);
});
