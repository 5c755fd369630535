/**
 * The encouraging loss L = base + bonus term (Zhao et al., AAAI 2022, arXiv 2110.06537),
 * reproducing the authors' `el.py` option for option. Every worker calls `encouragingLoss`
 * inside its gradient tape; `encourage loss` calls `lossWithLogitGrad`, which is built on it.
 */
import * as tf from '@tensorflow/tfjs';
import { bonusValues, mask } from './bonus.js';
import { MIRROR_BASES, type LossOptions } from './options.js';
import { scheduleFactor } from './schedule.js';

export interface LossContext {
  /** 1-based epoch, as `el.py`'s `set_epoch` (schedules and deferStart read it). */
  readonly epoch: number;
  /** The bonus is part of the loss only in training; evaluation reports it separately. */
  readonly training: boolean;
}

export interface LossParts<T extends tf.Tensor = tf.Scalar> {
  /** base + bonus in training; base alone in evaluation. */
  readonly loss: T;
  /** The base loss (CE with optional label smoothing, MSE, MAE, …). */
  readonly base: T;
  /**
   * The bonus term at this epoch: added to the loss in training, reported (not added) in
   * evaluation. Zero while deferred or when the bonus is `none`.
   */
  readonly bonus: T;
}

/** Whether the bonus term is active at `epoch` (it is off while epoch ≤ deferStart). */
export function bonusActive(opts: LossOptions, epoch: number): boolean {
  return opts.bonus !== 'none' && opts.rho !== 0 && !(opts.deferStart > 0 && epoch <= opts.deferStart);
}

/**
 * Compute the loss parts for a batch of logits `[B, K]` and integer labels `[B]` (means over
 * the batch; the MSE/MAE families also average over classes, as `torch.mean` does in `el.py`).
 */
export function encouragingLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, opts: LossOptions, ctx: LossContext): LossParts {
  return tf.tidy(() => {
    const numClasses = logits.shape[1];
    const ys = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), numClasses), 'float32');
    const lprobs = tf.logSoftmax(logits);
    const probs = tf.exp(lprobs);
    const sigmoid = opts.base.endsWith('_sigmoid') ? tf.sigmoid(logits) : null;
    const preds = sigmoid ?? probs;

    const base = baseLoss(opts, logits, ys, lprobs, preds);
    const bonus = bonusActive(opts, ctx.epoch) ? bonusTerm(opts, ctx.epoch, ys, preds) : tf.scalar(0);
    const loss = ctx.training ? tf.add(base, bonus) : tf.clone(base);
    return { loss: loss as tf.Scalar, base: base as tf.Scalar, bonus: bonus as tf.Scalar };
  });
}

function baseLoss(opts: LossOptions, logits: tf.Tensor2D, ys: tf.Tensor, lprobs: tf.Tensor, q: tf.Tensor): tf.Tensor {
  const notYs = tf.sub(1, ys);
  switch (opts.base) {
    case 'ce': {
      const ce = tf.neg(tf.mean(tf.sum(tf.mul(ys, lprobs), -1)));
      if (opts.labelSmoothing === 0) return ce;
      const eps = opts.labelSmoothing;
      return tf.add(tf.mul(ce, 1 - eps), tf.mul(tf.neg(tf.mean(lprobs)), eps));
    }
    case 'mse':
    case 'mse_sigmoid':
      return tf.mean(tf.add(tf.mul(ys, tf.square(tf.sub(1, q))), tf.mul(notYs, tf.square(q))));
    case 'mae':
    case 'mae_sigmoid':
      return tf.mean(tf.add(tf.mul(ys, tf.sub(1, q)), tf.mul(notYs, q)));
    case 'bce_sigmoid':
      // One-vs-all binary cross-entropy on sigmoid outputs, averaged over batch and classes
      // (PyTorch's binary_cross_entropy_with_logits default), in the stable form
      // −[y log σ(f) + (1−y) log(1−σ(f))] = softplus(f) − y·f. (tf.logSigmoid's gradient
      // reads a tensor that an enclosing tidy may already have disposed.)
      return tf.mean(tf.sub(tf.softplus(logits), tf.mul(ys, logits)));
  }
}

function bonusTerm(opts: LossOptions, epoch: number, ys: tf.Tensor, preds: tf.Tensor): tf.Tensor {
  if (MIRROR_BASES.includes(opts.base)) {
    // The authors' "mirror" of an MSE/MAE base: −mean(y·q^γ + (1−y)(1−q)^γ), with the
    // unscheduled ρ (el.py applies no schedule on this branch).
    const mirror = tf.neg(tf.mean(tf.add(tf.mul(ys, tf.pow(preds, opts.gamma)), tf.mul(tf.sub(1, ys), tf.pow(tf.sub(1, preds), opts.gamma)))));
    return tf.mul(mirror, opts.rho);
  }
  const r = opts.schedule === null ? 1 : scheduleFactor(opts.schedule, epoch);
  const logEnd = opts.schedule?.target === 'logEnd' ? opts.logEnd * r : opts.logEnd;
  const rho = opts.schedule?.target === 'rho' ? opts.rho * r : opts.rho;
  let b = bonusValues(preds, opts, logEnd);
  if (opts.bonusAbrupt !== null) b = tf.where(mask(preds, 'greater', opts.bonusAbrupt), tf.zerosLike(b), b);
  let term: tf.Tensor = tf.mul(tf.mean(tf.sum(tf.mul(ys, b), -1)), rho);
  if (opts.labelSmoothing !== 0) {
    // As el.py: the smoothing share of the bonus uses the *unscheduled* ρ.
    const eps = opts.labelSmoothing;
    term = tf.add(tf.mul(term, 1 - eps), tf.mul(tf.mean(b), eps * opts.rho));
  }
  return term;
}

/**
 * Loss parts plus ∂loss/∂logits, the quantity the confidence analytics bin by p_y. Row i of
 * `gradLogits` is 1/B times the gradient of example i's own loss, because the loss is a mean.
 */
export function lossWithLogitGrad(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  opts: LossOptions,
  ctx: LossContext,
): LossParts & { gradLogits: tf.Tensor2D } {
  return tf.tidy(() => {
    const parts = encouragingLoss(logits, labels, opts, ctx);
    const gradLogits = tf.grad((l: tf.Tensor) => encouragingLoss(l as tf.Tensor2D, labels, opts, ctx).loss)(logits) as tf.Tensor2D;
    return { ...parts, gradLogits };
  });
}
