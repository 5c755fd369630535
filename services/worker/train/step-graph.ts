/**
 * The device-side graph of a training step: forward, encouraging loss and backward in one
 * `tf.variableGrads`, with the logit gradient tapped on its way through backward (instead of a
 * second loss evaluation), and the sampled split of the parameter gradient into the part that
 * high-confidence examples contribute and the rest. Everything returned stays on the device.
 */
import * as tf from '@tensorflow/tfjs';
import { encouragingLoss } from '../../core/loss/index.js';
import type { Model } from '../models/index.js';
import { gradsInParamOrder } from '../models/index.js';
import type { StepInput } from './replica.js';

/** Device tensors of one forward/backward; the caller owns (and disposes) all of them. */
export interface Gradients {
  /** ∂L/∂θ in `model.params` order, shaped like the parameters. */
  readonly grads: tf.Tensor[];
  /** Batch-mean loss and its two parts, shape [] each. */
  readonly loss: tf.Scalar;
  readonly base: tf.Scalar;
  readonly bonus: tf.Scalar;
  /** [B, K] */
  readonly logits: tf.Tensor2D;
  /** ∂L/∂logits, [B, K] (of the batch-mean loss). */
  readonly gradLogits: tf.Tensor2D;
}

/**
 * Forward in training mode (BatchNorm records its pending running statistics), the encouraging
 * loss, and backward over every parameter.
 */
export function forwardBackward(model: Model, input: StepInput): Gradients {
  const n = input.labels.length;
  let logits: tf.Tensor2D | null = null;
  let gradLogits: tf.Tensor2D | null = null;
  let base: tf.Scalar | null = null;
  let bonus: tf.Scalar | null = null;
  // Identity forward; its backward hands the incoming ∂L/∂logits on unchanged and keeps a copy.
  const tap = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    return {
      value: x.clone(),
      gradFunc: (dy: tf.Tensor) => {
        gradLogits = tf.keep(dy.clone()) as tf.Tensor2D;
        return dy;
      },
    };
  });
  const vars = model.params.map((p) => p.variable);
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor4d(input.x.subarray(0, n * 32 * 32 * 3), [n, 32, 32, 3]);
    const ys = tf.tensor1d(input.labels, 'int32');
    return tf.variableGrads(() => {
      const out = model.apply(xs, true);
      logits = tf.keep(out);
      const parts = encouragingLoss(tap(out) as tf.Tensor2D, ys, input.loss, { epoch: input.epoch, training: true });
      base = tf.keep(parts.base);
      bonus = tf.keep(parts.bonus);
      return parts.loss;
    }, vars);
  });
  if (logits === null || gradLogits === null || base === null || bonus === null) {
    tf.dispose([value, ...Object.values(grads), logits, gradLogits, base, bonus].filter((t): t is tf.Tensor => t !== null));
    throw new Error('forward/backward did not produce the logits and their gradient');
  }
  return { grads: gradsInParamOrder(model, grads), loss: value, base, bonus, logits, gradLogits };
}

/**
 * The parameter gradient of the examples with p_y above `threshold`, and of the rest, as squared
 * norms. By linearity ∂L/∂θ = Jᵀ·∂L/∂f, so the high part is one extra vector–Jacobian product
 * with the logit gradient masked to those rows; the rest is the difference from the full gradient.
 * Call inside a `tf.tidy`, before the update (same parameters as the step's backward).
 * @returns [‖high‖², ‖low‖², number of high-confidence examples], shape [] each.
 */
export function highConfidenceSplit(model: Model, input: StepInput, g: Gradients, threshold: number): tf.Scalar[] {
  const n = input.labels.length;
  const k = g.logits.shape[1];
  // log p_y > log threshold: no underflow for confident or hopeless examples.
  const logPy = tf.sum(tf.mul(tf.logSoftmax(g.logits), tf.oneHot(tf.tensor1d(input.labels, 'int32'), k)), 1, true);
  const mask = tf.cast(tf.greater(logPy, Math.log(threshold)), 'float32');
  const upstream = tf.mul(g.gradLogits, mask);
  const xs = tf.tensor4d(input.x.subarray(0, n * 32 * 32 * 3), [n, 32, 32, 3]);
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(xs, true), upstream)) as tf.Scalar, model.params.map((p) => p.variable));
  value.dispose();
  const high = gradsInParamOrder(model, grads);
  // concat + sum rather than addN: WebGPU's AddN binds every input at once, past the binding limit.
  const total = (parts: tf.Tensor[]) => tf.sum(tf.concat(parts.map((t) => tf.sum(tf.square(t)).reshape([1]))));
  const highSq = total(high);
  const lowSq = total(high.map((h, i) => tf.sub(g.grads[i]!, h)));
  return [highSq as tf.Scalar, lowSq as tf.Scalar, tf.sum(mask) as tf.Scalar];
}
