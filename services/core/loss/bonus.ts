/**
 * Element-wise bonus functions b(p) of the encouraging loss (paper §3, `el.py`). The loss adds
 * ρ·b(p_y) with b decreasing in p, so minimising it keeps rewarding examples that are already
 * well classified — their gradient does not vanish as p_y → 1, which is the paper's point.
 */
import * as tf from '@tensorflow/tfjs';
import type { LossOptions } from './options.js';

/** Clamp floor of 1 − p inside the log, as the authors' `cl_eps`: caps the gradient at 1e5. */
export const LOG_BONUS_EPS = 1e-5;

/**
 * `p > threshold` (or `p ≥ threshold`) as a boolean mask that the gradient tape can pass
 * through: tfjs registers no gradient for comparison kernels, and `where` still backpropagates
 * a (zero) gradient into its condition. The mask is piecewise constant, so zero is exact.
 */
export function mask(p: tf.Tensor, op: 'greater' | 'greaterEqual', threshold: number): tf.Tensor {
  // Only the shape is captured: tensors referenced from a gradFunc closure may be disposed by
  // an enclosing tidy before backprop runs.
  const shape = p.shape;
  const compare = tf.customGrad((...inputs) => {
    const x = inputs[0] as tf.Tensor;
    return {
      value: op === 'greater' ? tf.greater(x, threshold) : tf.greaterEqual(x, threshold),
      gradFunc: () => tf.zeros(shape),
    };
  });
  return compare(p);
}

/**
 * b(p) for every entry of `p` (any shape), with bonusStart and the conservative (linear)
 * continuation past `logEnd` applied in the same order as `el.py`: start-shift first, then the
 * tangent line replaces everything past LE (so the tangent is *not* shifted by bonusStart —
 * a quirk of the original that we reproduce). `logEnd` is the effective LE after any schedule.
 */
export function bonusValues(p: tf.Tensor, opts: LossOptions, logEnd: number): tf.Tensor {
  return tf.tidy(() => {
    switch (opts.bonus) {
      case 'none':
        return tf.zerosLike(p);
      case 'log': {
        let b: tf.Tensor = tf.log(tf.maximum(tf.sub(1, p), LOG_BONUS_EPS));
        if (opts.bonusStart !== 0) {
          const shift = Math.log(Math.max(1 - opts.bonusStart, LOG_BONUS_EPS));
          b = tf.where(mask(p, 'greaterEqual', opts.bonusStart), tf.sub(b, shift), tf.zerosLike(b));
        }
        // LE ≥ 1 (including a scheduled LE that grew past 1) is the plain log bonus.
        if (logEnd < 1) {
          // Tangent of log(1 − p) at p = LE: slope −1/(1 − LE) = 1/(LE − 1). Paper §3.2 "conservative bonus".
          const tangent = tf.add(tf.mul(tf.sub(p, logEnd), 1 / (logEnd - 1)), Math.log(1 - logEnd));
          b = tf.where(mask(p, 'greater', logEnd), tangent, b);
        }
        return b;
      }
      case 'power': {
        let b: tf.Tensor = tf.neg(tf.pow(p, opts.gamma));
        if (opts.bonusStart !== 0) {
          const shift = -Math.pow(opts.bonusStart, opts.gamma);
          b = tf.where(mask(p, 'greaterEqual', opts.bonusStart), tf.sub(b, shift), tf.zerosLike(b));
        }
        return b;
      }
      case 'cosine':
        return tf.sub(tf.cos(tf.mul(p, Math.PI)), 1);
    }
  });
}
