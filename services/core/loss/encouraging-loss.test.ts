/**
 * The loss against closed forms (paper §3 and the formulas) and against central finite
 * differences for every option and schedule — never against itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random.js';
import { parseLossOptions, type LossOptions } from './options.js';
import { scheduleFactor } from './schedule.js';
import { encouragingLoss, lossWithLogitGrad, type LossContext } from './encouraging-loss.js';

await tf.setBackend('cpu');
const TRAIN: LossContext = { epoch: 1, training: true };
const K = 5;

/** Logits of one example whose softmax gives p_y to class 0 and the rest spread unevenly. */
function logitsFor(py: number): number[] {
  const rest = [0.4, 0.3, 0.2, 0.1].map((w) => w * (1 - py));
  return [Math.log(py), ...rest.map(Math.log)];
}

function evaluate(logits: number[][], labels: number[], opts: LossOptions, ctx: LossContext = TRAIN) {
  return tf.tidy(() => {
    const r = lossWithLogitGrad(tf.tensor2d(logits), tf.tensor1d(labels, 'int32'), opts, ctx);
    return { loss: r.loss.dataSync()[0]!, base: r.base.dataSync()[0]!, bonus: r.bonus.dataSync()[0]!, grad: r.gradLogits.arraySync() };
  });
}

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);
}

const P_VALUES = [0.1, 0.5, 0.9, 0.99];

test('CE: dL/df_y = p_y − 1 and dL/df_j = p_j', () => {
  for (const py of P_VALUES) {
    const f = logitsFor(py);
    const r = evaluate([f], [0], parseLossOptions('ce'));
    close(r.loss, -Math.log(py), 1e-5, `CE loss at ${py}`);
    close(r.grad[0]![0]!, py - 1, 1e-5, `CE dL/df_y at ${py}`);
    const probs = f.map(Math.exp);
    for (let j = 1; j < K; j++) close(r.grad[0]![j]!, probs[j]!, 1e-5, `CE dL/df_${j}`);
  }
});

test('full log bonus: dL/df_y = −1 for every p_y and dL/df_j = p_j/(1 − p_y)', () => {
  for (const py of P_VALUES) {
    const f = logitsFor(py);
    const r = evaluate([f], [0], parseLossOptions('el-full'));
    close(r.loss, -Math.log(py) + Math.log(1 - py), 2e-5 / (1 - py), `loss at ${py}`);
    close(r.bonus, Math.log(1 - py), 2e-5 / (1 - py), `bonus at ${py}`);
    close(r.grad[0]![0]!, -1, 2e-4, `dL/df_y at ${py}`);
    for (let j = 1; j < K; j++) close(r.grad[0]![j]!, Math.exp(f[j]!) / (1 - py), 2e-4, `dL/df_${j} at ${py}`);
  }
});

test('conservative bonus (LE = 0.75): −1 below LE, −(1 − p)(1 + p/(1 − LE)) past it', () => {
  const le = 0.75;
  for (const py of P_VALUES) {
    const r = evaluate([logitsFor(py)], [0], parseLossOptions('el'));
    const expected = py > le ? -(1 - py) * (1 + py / (1 - le)) : -1;
    close(r.grad[0]![0]!, expected, 1e-4, `dL/df_y at ${py}`);
    const bonus = py > le ? (py - le) / (le - 1) + Math.log(1 - le) : Math.log(1 - py);
    close(r.bonus, bonus, 1e-5, `bonus at ${py}`);
  }
});

test('MSE and MAE bases average over batch and classes', () => {
  const py = 0.6;
  const f = logitsFor(py);
  const p = f.map(Math.exp);
  const mse = ((1 - py) ** 2 + p.slice(1).reduce((s, x) => s + x * x, 0)) / K;
  close(evaluate([f], [0], parseLossOptions('mse')).loss, mse, 1e-6, 'mse');
  const mae = (1 - py + p.slice(1).reduce((s, x) => s + x, 0)) / K;
  close(evaluate([f], [0], parseLossOptions('mae')).loss, mae, 1e-6, 'mae');
  // Mirror of MSE (γ = 2): −mean(y q² + (1 − y)(1 − q)²), ρ = 1.
  const mirror = -(py ** 2 + p.slice(1).reduce((s, x) => s + (1 - x) ** 2, 0)) / K;
  const r = evaluate([f], [0], parseLossOptions('mse-mirror'));
  close(r.bonus, mirror, 1e-6, 'mse mirror');
  close(r.loss, mse + mirror, 1e-6, 'mse + mirror');
});

test('sigmoid bases use q = sigmoid(f) element-wise', () => {
  const f = [2, -1, 0.5, -3, 0];
  const q = f.map((x) => 1 / (1 + Math.exp(-x)));
  const ys = [0, 0, 1, 0, 0];
  const mean = (g: (qi: number, yi: number) => number) => q.reduce((s, qi, i) => s + g(qi, ys[i]!), 0) / K;
  close(evaluate([f], [2], parseLossOptions({ base: 'mse_sigmoid' })).loss, mean((qi, y) => y * (1 - qi) ** 2 + (1 - y) * qi ** 2), 1e-6, 'mse_sigmoid');
  close(evaluate([f], [2], parseLossOptions({ base: 'mae_sigmoid' })).loss, mean((qi, y) => y * (1 - qi) + (1 - y) * qi), 1e-6, 'mae_sigmoid');
  close(evaluate([f], [2], parseLossOptions('bce')).loss, mean((qi, y) => -(y * Math.log(qi) + (1 - y) * Math.log(1 - qi))), 1e-6, 'bce_sigmoid');
  // bce-el: ρ·b(q_y) with the conservative log bonus on the target's sigmoid output.
  close(evaluate([f], [2], parseLossOptions('bce-el')).bonus, Math.log(1 - q[2]!), 1e-6, 'bce-el bonus');
});

test('power and cosine bonus, bonusStart and bonusAbrupt values', () => {
  const at = (py: number, o: object) => evaluate([logitsFor(py)], [0], parseLossOptions(o)).bonus;
  close(at(0.8, { bonus: 'power', gamma: 2, rho: 0.5 }), -0.5 * 0.64, 1e-6, 'power');
  close(at(0.8, { bonus: 'cosine' }), Math.cos(Math.PI * 0.8) - 1, 1e-6, 'cosine');
  close(at(0.3, { bonus: 'log', bonusStart: 0.5 }), 0, 1e-7, 'log below start');
  close(at(0.8, { bonus: 'log', bonusStart: 0.5 }), Math.log(0.2) - Math.log(0.5), 1e-5, 'log past start');
  close(at(0.8, { bonus: 'power', gamma: 2, bonusStart: 0.5 }), -0.64 + 0.25, 1e-6, 'power past start');
  close(at(0.9, { bonus: 'log', bonusAbrupt: 0.75 }), 0, 1e-7, 'abrupt cut');
  close(at(0.6, { bonus: 'log', bonusAbrupt: 0.75 }), Math.log(0.4), 1e-6, 'below abrupt');
  // The log bonus is clamped at log(1e−5) as el.py's cl_eps.
  close(evaluate([[30, 0, 0, 0, 0]], [0], parseLossOptions('el-full')).bonus, Math.log(1e-5), 1e-4, 'clamp');
});

test('label smoothing: base (1−ε)CE + ε·mean(−log p); bonus (1−ε)ρb(p_y) + ερ·mean_k b(p_k)', () => {
  const py = 0.7;
  const f = logitsFor(py);
  const lp = f; // logitsFor returns log-probabilities already
  const eps = 0.1;
  const r = evaluate([f], [0], parseLossOptions({ preset: 'el-full', labelSmoothing: eps, rho: 0.5 }));
  close(r.base, (1 - eps) * -Math.log(py) + (eps * -lp.reduce((s, x) => s + x, 0)) / K, 1e-5, 'smoothed base');
  const b = lp.map((x) => Math.log(1 - Math.exp(x)));
  close(r.bonus, (1 - eps) * 0.5 * b[0]! + (eps * 0.5 * b.reduce((s, x) => s + x, 0)) / K, 1e-5, 'smoothed bonus');
});

test('deferStart, schedules and evaluation mode', () => {
  const f = [logitsFor(0.6)];
  const deferred = parseLossOptions({ preset: 'el-full', deferStart: 2 });
  assert.equal(evaluate(f, [0], deferred, { epoch: 2, training: true }).bonus, 0);
  close(evaluate(f, [0], deferred, { epoch: 3, training: true }).bonus, Math.log(0.4), 1e-6, 'after defer');
  const linear = parseLossOptions({ preset: 'el-full', schedule: { kind: 'linear', maxEpoch: 10 } });
  close(evaluate(f, [0], linear, { epoch: 4, training: true }).bonus, 0.4 * Math.log(0.4), 1e-6, 'linear ρ');
  // LE scheduled to 0.8·r with cos at t = 0.5 (r = 0.5): LE_eff = 0.4 < p_y = 0.6 → tangent line.
  const leSched = parseLossOptions({ bonus: 'log', logEnd: 0.8, schedule: { kind: 'cos', target: 'logEnd', maxEpoch: 10 } });
  close(evaluate(f, [0], leSched, { epoch: 5, training: true }).bonus, (0.6 - 0.4) / (0.4 - 1) + Math.log(0.6), 1e-6, 'scheduled LE');
  const ev = evaluate(f, [0], parseLossOptions('el-full'), { epoch: 1, training: false });
  close(ev.loss, ev.base, 1e-7, 'eval loss is the base');
  close(ev.bonus, Math.log(0.4), 1e-6, 'eval still reports the bonus term');
  close(ev.grad[0]![0]!, 0.6 - 1, 1e-5, 'eval gradient is CE');
});

/** Options exercised by the finite-difference sweep: every base, bonus, modifier and schedule. */
const FD_CASES: Record<string, object> = {
  ce: { preset: 'ce' },
  'ce-ls': { preset: 'ce-ls' },
  el: { preset: 'el' },
  'el-full': { preset: 'el-full' },
  'el-ls': { preset: 'el-ls', rho: 0.7 },
  'log+start': { bonus: 'log', bonusStart: 0.3, rho: 0.8 },
  'log+start+le': { bonus: 'log', bonusStart: 0.3, logEnd: 0.6 },
  'log+abrupt': { bonus: 'log', bonusAbrupt: 0.7 },
  power: { bonus: 'power', gamma: 2 },
  'power+start': { bonus: 'power', gamma: 1.5, bonusStart: 0.3 },
  cosine: { bonus: 'cosine', rho: 2 },
  'sched linear rho': { preset: 'el', schedule: { kind: 'linear', maxEpoch: 8 } },
  'sched exp rho': { preset: 'el', schedule: { kind: 'exp', maxEpoch: 8 } },
  'sched exp<0 rho': { preset: 'el', schedule: { kind: 'exp', maxEpoch: 8, expRatio: -3 } },
  'sched cos rho': { preset: 'el', schedule: { kind: 'cos', maxEpoch: 8 } },
  'sched linear LE': { preset: 'el', schedule: { kind: 'linear', target: 'logEnd', maxEpoch: 8 } },
  'sched exp LE': { preset: 'el', schedule: { kind: 'exp', target: 'logEnd', maxEpoch: 8 } },
  'sched cos LE': { preset: 'el', schedule: { kind: 'cos', target: 'logEnd', maxEpoch: 8 } },
  'defer (off)': { preset: 'el', deferStart: 3 },
  mse: { preset: 'mse' },
  mae: { preset: 'mae' },
  'mse-mirror': { preset: 'mse-mirror' },
  'mae-mirror': { preset: 'mae-mirror', rho: 0.5 },
  'mse_sigmoid+mirror': { base: 'mse_sigmoid', bonus: 'power', gamma: 2 },
  'mae_sigmoid+mirror': { base: 'mae_sigmoid', bonus: 'power', gamma: 1 },
  bce: { preset: 'bce' },
  'bce-el': { preset: 'bce-el' },
};

/** Thresholds where a piecewise loss has a kink; FD points must stay away from them. */
function kinks(o: LossOptions, epoch: number): number[] {
  const out: number[] = [];
  if (o.bonus === 'log' && o.logEnd < 1) out.push(o.schedule?.target === 'logEnd' ? o.logEnd * scheduleFactor(o.schedule, epoch) : o.logEnd);
  if (o.bonusStart > 0) out.push(o.bonusStart);
  if (o.bonusAbrupt !== null) out.push(o.bonusAbrupt);
  return out;
}

test('finite differences agree with the gradient for every option and schedule', () => {
  const rng = new Rng(2110);
  const h = 1e-2;
  for (const [name, raw] of Object.entries(FD_CASES)) {
    const opts = parseLossOptions(raw);
    const ctx: LossContext = { epoch: 4, training: true };
    // Draw a batch whose probabilities stay clear of the loss's kinks.
    let logits: number[][] = [];
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 200, `${name}: no kink-free batch found`);
      logits = Array.from({ length: 3 }, () => Array.from({ length: K }, () => rng.nextGaussian() * 2));
      const probs = tf.tidy(() => tf.concat([tf.softmax(tf.tensor2d(logits)), tf.sigmoid(tf.tensor2d(logits))], 1).arraySync()).flat();
      if (probs.every((p) => kinks(opts, ctx.epoch).every((k) => Math.abs(p - k) > 0.03))) break;
    }
    const labels = [0, 3, 1];
    const analytic = evaluate(logits, labels, opts, ctx).grad;
    for (let i = 0; i < logits.length; i++) {
      for (let j = 0; j < K; j++) {
        const shifted = (delta: number) => {
          const copy = logits.map((row) => [...row]);
          copy[i]![j]! += delta;
          return evaluate(copy, labels, opts, ctx).loss;
        };
        const fd = (shifted(h) - shifted(-h)) / (2 * h);
        const a = analytic[i]![j]!;
        assert.ok(Math.abs(fd - a) <= 2e-3 + 2e-2 * Math.abs(a), `${name} [${i}][${j}]: analytic ${a}, finite difference ${fd}`);
      }
    }
    // The check must be able to fail: the gradient is not identically zero.
    assert.ok(analytic.flat().some((g) => Math.abs(g) > 1e-3), `${name}: gradient vanished`);
  }
});

test('no tensor leaks across repeated loss evaluations', () => {
  const opts = parseLossOptions('el');
  const logits = tf.randomNormal([8, 10]) as tf.Tensor2D;
  const labels = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32');
  const once = () => {
    const r = lossWithLogitGrad(logits, labels, opts, TRAIN);
    tf.dispose([r.loss, r.base, r.bonus, r.gradLogits]);
    const parts = encouragingLoss(logits, labels, opts, { epoch: 1, training: false });
    tf.dispose([parts.loss, parts.base, parts.bonus]);
  };
  once();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 10; i++) once();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([logits, labels]);
});
