/**
 * The model abstraction shared by the trainer, the checkpoint code and the fused all-reduce.
 *
 * Models are plain tfjs-core code over explicit `tf.Variable`s (no tfjs-layers), so that the
 * parameter order, names and initialisation are fully under our control and bit-reproducible.
 *
 * ## Running statistics and `tf.variableGrads`
 *
 * PyTorch's `BatchNorm2d` mutates `running_mean`/`running_var` inside `forward()`. Doing the same
 * here would be wrong or leaky in tfjs, because a training step runs the forward pass inside
 * `tf.variableGrads`, whose forward `tidy` disposes every tensor created there, and whose tape
 * would record any update ops. So the update is split in two:
 *
 * 1. `apply(x, true)` computes the batch mean and the unbiased batch variance *inside* the
 *    BatchNorm's custom-gradient forward (where ops are not recorded on the tape) and marks those
 *    two `[C]` tensors with `tf.keep`, so they survive every enclosing `tidy`, including the one in
 *    `tf.variableGrads`. They are held by the layer as its *pending* statistics; a new training-mode
 *    `apply` first disposes the previous pending statistics ("last apply wins").
 * 2. `updateRunningStats()` folds the pending statistics into the running buffers with PyTorch's
 *    rule `running = (1 − momentum)·running + momentum·batch` (momentum 0.1, unbiased variance) and
 *    disposes them; `discardRunningStats()` only disposes them (e.g. after a finite-difference
 *    probe, or when a step is abandoned).
 *
 * A trainer therefore does:
 * ```ts
 * const { value, grads } = tf.variableGrads(() => lossFn(model.apply(x, true)), model.params.map((p) => p.variable));
 * // … all-reduce / optimiser on grads, dispose value and grads …
 * model.updateRunningStats();
 * ```
 * and `tf.memory().numTensors` returns to its value before the step.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** One trainable tensor of a model. */
export interface Param {
  /** Stable, PyTorch-style state-dict key, e.g. `layer1.0.conv1.weight`. Unique within a model. */
  readonly name: string;
  /**
   * The tfjs variable. Its own `variable.name` is made globally unique (tfjs requires it) and is
   * the key of this param in the `grads` map returned by `tf.variableGrads`.
   */
  readonly variable: tf.Variable;
  /** Whether L2 weight decay applies: false for BatchNorm γ/β and for biases (common CIFAR practice). */
  readonly weightDecay: boolean;
}

/**
 * Non-trainable model state, e.g. BatchNorm `running_mean`/`running_var` (named `ModelBuffer` rather
 * than `Buffer` so that it does not shadow Node's global `Buffer`).
 */
export interface ModelBuffer {
  /** State-dict key, e.g. `bn1.running_var`. Unique within a model (and disjoint from param names). */
  readonly name: string;
  /** A variable created with `trainable = false`. */
  readonly variable: tf.Variable;
}

/** A trainable image classifier over NHWC float32 input. See the module comment for the BN protocol. */
export interface Model {
  /** Registry name, e.g. `resnet20`. */
  readonly name: string;
  /** Trainable parameters in a fixed, deterministic (construction) order. */
  readonly params: readonly Param[];
  /** Non-trainable state in a fixed, deterministic order. */
  readonly buffers: readonly ModelBuffer[];
  /**
   * Forward pass. In training mode BatchNorm normalises with batch statistics and records them
   * as pending running-stat updates; in eval mode it uses the running statistics. Works inside
   * `tf.variableGrads`/`tf.grads`; intermediate tensors are tidied, only the logits are returned.
   */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /**
   * Fold the statistics recorded by the last training-mode `apply` into the running buffers
   * (momentum 0.1, unbiased variance, as PyTorch) and release them.
   * @returns the number of BatchNorm layers updated (0 when nothing was pending).
   */
  updateRunningStats(): number;
  /** Release pending statistics without touching the running buffers. */
  discardRunningStats(): void;
  /** Whether a training-mode `apply` has left statistics that are not yet applied or discarded. */
  readonly hasPendingRunningStats: boolean;
  /** Dispose every variable and pending tensor. Idempotent; the model is unusable afterwards. */
  dispose(): void;
}

/**
 * A layer that keeps running statistics with the two-phase protocol described in the module
 * comment (BatchNorm in this code base).
 */
export interface RunningStatsLayer {
  readonly hasPending: boolean;
  /** @returns whether there was anything to apply. */
  updateRunningStats(): boolean;
  discardRunningStats(): void;
}
