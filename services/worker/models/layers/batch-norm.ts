/**
 * 2-D batch normalisation over NHWC tensors with PyTorch `nn.BatchNorm2d` semantics:
 * eps 1e-5, momentum 0.1, γ = 1, β = 0, running_mean = 0, running_var = 1; training mode
 * normalises with the batch mean and the *biased* batch variance and updates the running
 * variance with the *unbiased* one (torch/nn/modules/batchnorm.py, `F.batch_norm`).
 *
 * Training mode is a `tf.customGrad` with the closed-form backward instead of `tf.batchNorm`,
 * whose registered gradient materialises per-channel vectors with `Tile` — very slow on wasm. With
 * x̂ = (x − μ)/σ, σ = sqrt(var_biased + eps), M = N·H·W and sums over N, H, W:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = γ/σ · (dy − dβ/M − x̂·dγ/M).
 * Only broadcasting element-wise ops and pooling-based channel means are used (no Tile), on the
 * wide per-channel views of channel-ops.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../../core/errors.js';
import type { ModuleBuilder } from '../module-builder.js';
import type { RunningStatsLayer } from '../model.js';
import { ModelInputError } from '../model-errors.js';
import { ChannelPlan } from './channel-ops.js';
import { fusedBatchNorm } from './fused-layers.js';
import { activeTape } from './fused-tape.js';
import { filledValues } from './init.js';

/** PyTorch `BatchNorm2d` default eps. */
export const BN_EPSILON = 1e-5;
/** PyTorch `BatchNorm2d` default momentum (weight of the new batch statistic). */
export const BN_MOMENTUM = 0.1;

/**
 * Receives the batch statistics computed by a training-mode forward. The tensors belong to the
 * forward's tidy scope and are disposed when it ends unless the callee `tf.keep`s them.
 * @param mean per-channel batch mean, [C]
 * @param biasedVariance per-channel batch variance with divisor M, [C]
 * @param count M = N·H·W, the number of values per channel
 */
export type BatchStatsSink = (mean: tf.Tensor1D, biasedVariance: tf.Tensor1D, count: number) => void;

/**
 * Training-mode batch normalisation of an NHWC tensor with a closed-form custom gradient
 * (gradients flow to `x`, `gamma` and `beta`).
 * @param onStats optional sink for the batch statistics (see `BatchStatsSink`).
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  eps: number = BN_EPSILON,
  onStats?: BatchStatsSink,
): tf.Tensor4D {
  const plan = new ChannelPlan(x.shape);
  const m = plan.count;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, gammaIn, betaIn, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    // Element-wise work happens on the wide [M/k, k·C] view (see channel-ops.ts).
    const xw = plan.wide(xIn);
    const mean = plan.mean(xw);
    const centered = tf.sub(xw, plan.widen(mean));
    // Two-pass variance (mean of squared deviations): no cancellation when |μ| ≫ σ.
    const variance = plan.mean(tf.square(centered));
    const invStd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor1D;
    // y = x̂·γ + β computed as centered·(γ/σ) + β: one full-size multiply fewer than forming x̂.
    const y = tf.add(tf.mul(centered, plan.widen(tf.mul(gammaIn, invStd))), plan.widen(betaIn));
    save([centered, gammaIn, invStd]);
    onStats?.(mean, variance, m);
    const gradFunc = (dy: tf.Tensor4D, saved: tf.Tensor[]): tf.Tensor[] => {
      const [c, g, s] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
      const dyw = plan.wide(dy);
      const meanDy = plan.mean(dyw); // dβ/M
      const meanDyXhat = tf.mul(plan.mean(tf.mul(dyw, c)), s) as tf.Tensor1D; // dγ/M = mean(dy·x̂) = σ⁻¹·mean(dy·(x−μ))
      const k = tf.mul(g, s) as tf.Tensor1D; // γ/σ
      // dx = k·(dy − mean(dy) − x̂·mean(dy·x̂)) with x̂ = (x−μ)·σ⁻¹, folded into per-channel
      // coefficients so that only three full-size broadcasts and one full-size add remain.
      const centeredCoef = tf.neg(tf.mul(tf.mul(k, s), meanDyXhat)) as tf.Tensor1D;
      const constant = tf.neg(tf.mul(k, meanDy)) as tf.Tensor1D;
      const dx = tf.add(tf.add(tf.mul(dyw, plan.widen(k)), tf.mul(c, plan.widen(centeredCoef))), plan.widen(constant));
      return [plan.unwide(dx), tf.mul(meanDyXhat, m), tf.mul(meanDy, m)];
    };
    return { value: plan.unwide(y), gradFunc };
  });
  return op(x, gamma, beta) as tf.Tensor4D;
}

/**
 * Eval-mode batch normalisation with given running statistics, written as the per-channel affine
 * map x·scale + shift (scale = γ/sqrt(running_var + eps), shift = β − running_mean·scale) so that
 * its gradient, if ever taken, uses broadcasting ops rather than `tf.batchNorm`'s Tile.
 */
export function batchNormInference(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  runningMean: tf.Tensor1D,
  runningVar: tf.Tensor1D,
  eps: number = BN_EPSILON,
): tf.Tensor4D {
  return tf.tidy(() => {
    const plan = new ChannelPlan(x.shape);
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(runningVar, eps))) as tf.Tensor1D;
    const shift = tf.sub(beta, tf.mul(runningMean, scale)) as tf.Tensor1D;
    return plan.unwide(tf.add(tf.mul(plan.wide(x), plan.widen(scale)), plan.widen(shift)));
  });
}

/** What follows the normalisation in the same call (fused into one kernel on webgpu's training path). */
export interface BatchNormApplyOptions {
  /** Added to the normalised output (a residual block's shortcut), before the ReLU. */
  readonly residual?: tf.Tensor4D;
  /** Apply max(·, 0) last. */
  readonly relu?: boolean;
}

/**
 * Statistics a training-mode forward leaves for `updateRunningStats`: the batch's (tf-ops path;
 * folded in by PyTorch's rule at update time) or the new running values themselves (fused path,
 * whose kernel computes them in the forward pass).
 */
type PendingStats =
  | { readonly kind: 'batch'; readonly mean: tf.Tensor1D; readonly unbiasedVariance: tf.Tensor1D }
  | { readonly kind: 'running'; readonly mean: tf.Tensor1D; readonly variance: tf.Tensor1D };

/** Options of `BatchNorm2d`; the defaults are PyTorch's. */
export interface BatchNormOptions {
  readonly eps?: number;
  readonly momentum?: number;
}

/**
 * `nn.BatchNorm2d(channels)` over NHWC input, with params `weight` (γ) and `bias` (β) and buffers
 * `running_mean`/`running_var`. `num_batches_tracked` is not kept: with a fixed momentum PyTorch
 * never reads it. Running statistics follow the two-phase protocol of `model.ts`.
 */
export class BatchNorm2d implements RunningStatsLayer {
  readonly weight: tf.Variable<tf.Rank.R1>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  readonly runningMean: tf.Variable<tf.Rank.R1>;
  readonly runningVar: tf.Variable<tf.Rank.R1>;
  readonly eps: number;
  readonly momentum: number;
  private pending: PendingStats | null = null;

  constructor(builder: ModuleBuilder, name: string, readonly channels: number, options: BatchNormOptions = {}) {
    if (!Number.isInteger(channels) || channels <= 0) throw new ConfigError(`${name}.channels`, channels, 'a positive integer');
    this.eps = options.eps ?? BN_EPSILON;
    this.momentum = options.momentum ?? BN_MOMENTUM;
    if (!(this.eps > 0)) throw new ConfigError(`${name}.eps`, this.eps, 'a positive number');
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new ConfigError(`${name}.momentum`, this.momentum, 'a number in [0, 1]');
    const b = builder.scope(name);
    this.weight = b.param('weight', [channels], filledValues(channels, 1), false) as tf.Variable<tf.Rank.R1>;
    this.bias = b.param('bias', [channels], filledValues(channels, 0), false) as tf.Variable<tf.Rank.R1>;
    this.runningMean = b.buffer('running_mean', [channels], filledValues(channels, 0)) as tf.Variable<tf.Rank.R1>;
    this.runningVar = b.buffer('running_var', [channels], filledValues(channels, 1)) as tf.Variable<tf.Rank.R1>;
    builder.registerRunningStats(this);
  }

  /**
   * Normalise `x`, then add `options.residual` and apply ReLU if asked; in training mode also
   * record the batch statistics as pending. Without a fused path this is exactly
   * `relu(add(batchNorm(x), residual))` in tf ops.
   */
  apply(x: tf.Tensor4D, training: boolean, options: BatchNormApplyOptions = {}): tf.Tensor4D {
    if (!training) return this.finish(batchNormInference(x, this.weight, this.bias, this.runningMean, this.runningVar, this.eps), options);
    const [n, h, w] = x.shape;
    if (n * h * w < 2) {
      // As PyTorch: the unbiased variance of a single value is undefined.
      throw new ModelInputError('BatchNorm2d', 'more than 1 value per channel in training mode', x.shape, x.dtype);
    }
    this.discardRunningStats();
    const tape = activeTape();
    if (tape !== null) {
      const { y, runningMean, runningVar } = fusedBatchNorm(tape, x, this, options.relu === true, options.residual);
      this.pending = { kind: 'running', mean: runningMean, variance: runningVar };
      return y;
    }
    const y = batchNormTraining(x, this.weight, this.bias, this.eps, (mean, variance, m) => {
      // Kept so they survive the tidy scopes of the forward and of tf.variableGrads; disposed by
      // updateRunningStats/discardRunningStats. Created inside the custom-gradient forward, so
      // they are not on the gradient tape.
      this.pending = {
        kind: 'batch',
        mean: tf.keep(tf.clone(mean)),
        unbiasedVariance: tf.keep(tf.mul(variance, m / (m - 1))),
      };
    });
    return this.finish(y, options);
  }

  private finish(y: tf.Tensor4D, options: BatchNormApplyOptions): tf.Tensor4D {
    const sum: tf.Tensor4D = options.residual === undefined ? y : tf.add(y, options.residual);
    return options.relu === true ? tf.relu(sum) : sum;
  }

  get hasPending(): boolean {
    return this.pending !== null;
  }

  updateRunningStats(): boolean {
    const pending = this.pending;
    if (pending === null) return false;
    this.pending = null;
    if (pending.kind === 'running') {
      // The fused kernel already applied PyTorch's rule; the variables take the new values over.
      this.runningMean.assign(pending.mean);
      this.runningVar.assign(pending.variance);
      tf.dispose([pending.mean, pending.variance]);
      return true;
    }
    const mom = this.momentum;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - mom), tf.mul(pending.mean, mom)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - mom), tf.mul(pending.unbiasedVariance, mom)));
    });
    tf.dispose([pending.mean, pending.unbiasedVariance]);
    return true;
  }

  discardRunningStats(): void {
    const pending = this.pending;
    if (pending === null) return;
    tf.dispose(pending.kind === 'batch' ? [pending.mean, pending.unbiasedVariance] : [pending.mean, pending.variance]);
    this.pending = null;
  }
}
