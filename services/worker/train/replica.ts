/**
 * One model replica: the unit that a single-process run drives directly and that a distributed
 * worker drives between all-reduces. A step is split where data parallelism needs it:
 * `computeGradients` (forward, encouraging loss, backward → one flat gradient buffer), then,
 * after the caller has (optionally) all-reduced that buffer, `applyGradients` (SGD on the flat
 * parameter mirror, written back into the model, plus BatchNorm's running-stat update).
 */
import * as tf from '@tensorflow/tfjs';
import { encouragingLoss, lossWithLogitGrad, type LossOptions } from '../../core/loss/index.js';
import { flattenGrads, flattenParams, loadFlatParams, type Model } from '../models/index.js';
import { FlatSgd, type SgdOptions } from './sgd.js';
import { binOf } from '../../core/training/confidence.js';
import type { EvalSums } from '../../core/training/loss-sums.js';

export const IMAGE_SIDE = 32;
export const IMAGE_CHANNELS = 3;

/** Per-batch figures of a training step (sums, so ranks can add them). */
export interface StepStats {
  readonly examples: number;
  /** Batch-mean loss parts. */
  readonly loss: number;
  readonly base: number;
  readonly bonus: number;
  readonly correct: number;
  /** Logits and ∂L/∂logits (batch mean), row-major B×K, for the confidence analytics. */
  readonly logits: Float32Array;
  readonly gradLogits: Float32Array;
  readonly numClasses: number;
}

/** Parameter-gradient norms of the high-confidence examples and of the rest (same step). */
export interface ParamGradSplit {
  readonly high: number;
  readonly low: number;
  readonly highExamples: number;
}

export class Replica {
  /** Flat mirror of the parameters, in `model.params` order: the optimizer's view. */
  readonly params: Float32Array;
  readonly sgd: FlatSgd;

  constructor(
    readonly model: Model,
    sgdOptions: SgdOptions,
  ) {
    this.params = flattenParams(model);
    const mask = new Uint8Array(this.params.length);
    let off = 0;
    for (const p of model.params) {
      if (p.weightDecay) mask.fill(1, off, off + p.variable.size);
      off += p.variable.size;
    }
    this.sgd = new FlatSgd(this.params.length, mask, sgdOptions);
  }

  /**
   * Forward + backward of one batch (NHWC floats, int labels). Leaves BatchNorm's batch statistics
   * pending until `applyGradients` (or `abandonStep`). `epoch` is 1-based, as the loss expects.
   */
  computeGradients(x: Float32Array, labels: Int32Array, loss: LossOptions, epoch: number): { grads: Float32Array; stats: StepStats } {
    const batch = labels.length;
    const vars = this.model.params.map((p) => p.variable);
    let kept: tf.Tensor2D | null = null;
    const { value, grads } = tf.tidy(() => {
      const xs = tf.tensor4d(x, [batch, IMAGE_SIDE, IMAGE_SIDE, IMAGE_CHANNELS]);
      const ys = tf.tensor1d(labels, 'int32');
      return tf.variableGrads(() => {
        const logits = this.model.apply(xs, true);
        kept = tf.keep(logits);
        return encouragingLoss(logits, ys, loss, { epoch, training: true }).loss;
      }, vars);
    });
    const flat = flattenGrads(this.model, grads);
    tf.dispose([value, ...Object.values(grads)]);
    const logits = kept as unknown as tf.Tensor2D;
    try {
      return { grads: flat, stats: this.batchStats(logits, labels, loss, epoch) };
    } finally {
      logits.dispose();
    }
  }

  private batchStats(logits: tf.Tensor2D, labels: Int32Array, loss: LossOptions, epoch: number): StepStats {
    return tf.tidy(() => {
      const r = lossWithLogitGrad(logits, tf.tensor1d(labels, 'int32'), loss, { epoch, training: true });
      const logitData = logits.dataSync() as Float32Array;
      const numClasses = logits.shape[1];
      return {
        examples: labels.length,
        loss: r.loss.dataSync()[0]!,
        base: r.base.dataSync()[0]!,
        bonus: r.bonus.dataSync()[0]!,
        correct: countCorrect(logitData, labels, numClasses),
        logits: Float32Array.from(logitData),
        gradLogits: Float32Array.from(r.gradLogits.dataSync() as Float32Array),
        numClasses,
      };
    });
  }

  /**
   * Split this batch's parameter gradient into the part contributed by examples with p_y above
   * `threshold` and the rest. By linearity ∂L/∂θ = Jᵀ·∂L/∂f, so the high part is one extra
   * vector–Jacobian product with the logit gradient masked to those rows; the rest is the
   * difference. Call between `computeGradients` and `applyGradients` (same parameters).
   */
  paramGradSplit(x: Float32Array, labels: Int32Array, stats: StepStats, fullGrads: Float32Array, threshold: number): ParamGradSplit {
    const batch = labels.length;
    const k = stats.numClasses;
    const masked = new Float32Array(stats.gradLogits.length);
    let highExamples = 0;
    for (let i = 0; i < batch; i++) {
      if (probabilityOfLabel(stats.logits, i, labels[i]!, k) > threshold) {
        masked.set(stats.gradLogits.subarray(i * k, (i + 1) * k), i * k);
        highExamples++;
      }
    }
    const vars = this.model.params.map((p) => p.variable);
    const { value, grads } = tf.tidy(() => {
      const xs = tf.tensor4d(x, [batch, IMAGE_SIDE, IMAGE_SIDE, IMAGE_CHANNELS]);
      const upstream = tf.tensor2d(masked, [batch, k]);
      return tf.variableGrads(() => tf.sum(tf.mul(this.model.apply(xs, true), upstream)) as tf.Scalar, vars);
    });
    const high = flattenGrads(this.model, grads);
    tf.dispose([value, ...Object.values(grads)]);
    let h = 0;
    let l = 0;
    for (let i = 0; i < high.length; i++) {
      h += high[i]! * high[i]!;
      const rest = fullGrads[i]! - high[i]!;
      l += rest * rest;
    }
    return { high: Math.sqrt(h), low: Math.sqrt(l), highExamples };
  }

  /** SGD on the (reduced) gradient, then BatchNorm's running-stat update from this step. */
  applyGradients(grads: Float32Array, lr: number): void {
    this.sgd.step(this.params, grads, lr);
    loadFlatParams(this.model, this.params);
    this.model.updateRunningStats();
  }

  /** Drop a computed step without updating anything (e.g. non-finite gradients). */
  abandonStep(): void {
    this.model.discardRunningStats();
  }

  /** Re-read parameters from the model after its state was imported (resume, broadcast). */
  syncFromModel(): void {
    flattenParams(this.model, this.params);
  }

  /** Evaluation pass over one batch (running statistics, no bonus in the loss), added to `sums`. */
  evaluateBatch(x: Float32Array, labels: Int32Array, loss: LossOptions, epoch: number, edges: readonly number[], sums: EvalSums): void {
    const batch = labels.length;
    tf.tidy(() => {
      const logits = this.model.apply(tf.tensor4d(x, [batch, IMAGE_SIDE, IMAGE_SIDE, IMAGE_CHANNELS]), false);
      const parts = encouragingLoss(logits, tf.tensor1d(labels, 'int32'), loss, { epoch, training: false });
      const data = logits.dataSync() as Float32Array;
      const k = logits.shape[1];
      sums.examples += batch;
      sums.lossSum += parts.loss.dataSync()[0]! * batch;
      sums.baseSum += parts.base.dataSync()[0]! * batch;
      sums.bonusSum += parts.bonus.dataSync()[0]! * batch;
      for (let i = 0; i < batch; i++) {
        const pred = argmax(data, i, k);
        const ok = pred === labels[i] ? 1 : 0;
        sums.correct += ok;
        const bin = binOf(edges, probabilityOfLabel(data, i, pred, k));
        sums.binExamples[bin] = (sums.binExamples[bin] ?? 0) + 1;
        sums.binCorrect[bin] = (sums.binCorrect[bin] ?? 0) + ok;
      }
    });
  }
}

function argmax(data: Float32Array, row: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (data[row * k + j]! > data[row * k + best]!) best = j;
  return best;
}

function countCorrect(data: Float32Array, labels: Int32Array, k: number): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (argmax(data, i, k) === labels[i]) n++;
  return n;
}

/** softmax(logits row)[cls], computed stably in float64. */
export function probabilityOfLabel(data: Float32Array, row: number, cls: number, k: number): number {
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, data[row * k + j]!);
  let z = 0;
  for (let j = 0; j < k; j++) z += Math.exp(data[row * k + j]! - max);
  return Math.exp(data[row * k + cls]! - max) / z;
}
