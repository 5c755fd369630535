import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlatSgd } from './sgd.js';

/** Hand-computed torch.optim.SGD steps (dampening 0) on two parameters, one without decay. */
test('matches the closed-form torch.optim.SGD update, with and without Nesterov', () => {
  const mask = Uint8Array.from([1, 0]);
  for (const nesterov of [false, true]) {
    const sgd = new FlatSgd(2, mask, { momentum: 0.9, weightDecay: 0.1, nesterov });
    const p = Float32Array.from([1, 2]);
    const g1 = Float32Array.from([0.5, -1]);
    sgd.step(p, g1, 0.1);
    // step 1: d = g + wd·p → [0.6, −1]; buf = d; update with d (+ m·buf for Nesterov).
    const d1 = [0.6, -1];
    const u1 = nesterov ? d1.map((d) => d + 0.9 * d) : d1;
    const p1 = [1 - 0.1 * u1[0]!, 2 - 0.1 * u1[1]!];
    assert.ok(Math.abs(p[0]! - p1[0]!) < 1e-6 && Math.abs(p[1]! - p1[1]!) < 1e-6, `step 1 nesterov=${nesterov}: ${p}`);
    const g2 = Float32Array.from([0.2, 0.3]);
    sgd.step(p, g2, 0.05);
    const d2 = [0.2 + 0.1 * p1[0]!, 0.3];
    const b2 = [0.9 * d1[0]! + d2[0]!, 0.9 * d1[1]! + d2[1]!];
    const u2 = nesterov ? [d2[0]! + 0.9 * b2[0]!, d2[1]! + 0.9 * b2[1]!] : b2;
    assert.ok(Math.abs(p[0]! - (p1[0]! - 0.05 * u2[0]!)) < 1e-6, `step 2 p0 nesterov=${nesterov}`);
    assert.ok(Math.abs(p[1]! - (p1[1]! - 0.05 * u2[1]!)) < 1e-6, `step 2 p1 nesterov=${nesterov}`);
  }
});

test('state round-trips and sizes are checked', () => {
  const a = new FlatSgd(3, new Uint8Array(3).fill(1), { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  const pa = Float32Array.from([1, 2, 3]);
  a.step(pa, Float32Array.from([1, 1, 1]), 0.1);
  const b = new FlatSgd(3, new Uint8Array(3).fill(1), { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  b.restore({ momentumBuffer: Float32Array.from(a.state().momentumBuffer), initialised: a.state().initialised });
  const pb = Float32Array.from(pa);
  a.step(pa, Float32Array.from([0.3, -0.2, 0.1]), 0.1);
  b.step(pb, Float32Array.from([0.3, -0.2, 0.1]), 0.1);
  assert.deepEqual(pb, pa);
  assert.throws(() => a.step(new Float32Array(2), new Float32Array(2), 0.1), /expected 3/);
  assert.throws(() => b.restore({ momentumBuffer: new Float32Array(4), initialised: true }), /expected 3/);
});
