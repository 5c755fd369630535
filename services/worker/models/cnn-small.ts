/**
 * `cnn-small`: a tiny CNN for fast tests and smoke runs (hundreds of images/s on wasm):
 *   conv3×3(3→16) – BN – ReLU – maxpool 2  → 16×16×16
 *   conv3×3(16→32) – BN – ReLU – maxpool 2 → 8×8×32
 *   conv3×3(32→64) – BN – ReLU – global average pool → 64
 *   linear 64→K
 * The global-average-pooled head (as in the ResNets) keeps the logits' sensitivity to the last
 * layer small: a 2048-wide flatten→linear head moved the logits by ~lr·‖h‖² ≈ 100 per SGD step at
 * the recipe's lr 0.1 and diverged. Convs have no bias (BN follows). Trainable parameters, K = 10:
 *   432 + 32 + 4,608 + 64 + 18,432 + 128 + (64·10 + 10) = 24,346.
 *
 * `cnn-nobn`: the same without BatchNorm (convs with bias instead), for tests that need exact
 * data-parallel equivalence — with BatchNorm, per-replica batch statistics make N workers at batch B
 * differ from one worker at batch N·B (as PyTorch DDP without SyncBatchNorm). Parameters, K = 10:
 *   448 + 4,640 + 18,496 + 650 = 24,234.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d } from './layers/batch-norm.js';
import { Conv2d } from './layers/conv2d.js';
import { Dense } from './layers/dense.js';
import { globalAvgPool, maxPool2x2, relu } from './layers/functional.js';
import type { Model } from './model.js';
import { ModuleBuilder } from './module-builder.js';

/** Input side length the small CNNs are built for (CIFAR). */
export const CNN_SMALL_INPUT_SIZE = 32;
const WIDTHS = [16, 32, 64] as const;

/** Build `cnn-small` (with BatchNorm) or `cnn-nobn`, with PyTorch-default init from `new Rng(seed)`. */
export function createCnnSmall(numClasses: number, seed: number, batchNorm = true): Model {
  const builder = ModuleBuilder.create(seed);
  try {
    let inChannels = 3;
    const blocks = WIDTHS.map((outChannels, i) => {
      const conv = new Conv2d(builder, `conv${i + 1}`, { inChannels, outChannels, kernelSize: 3, stride: 1, padding: 1, bias: !batchNorm });
      const bn = batchNorm ? new BatchNorm2d(builder, `bn${i + 1}`, outChannels) : null;
      inChannels = outChannels;
      return { conv, bn };
    });
    const linear = new Dense(builder, 'linear', WIDTHS[2], numClasses);
    const forward = (x: tf.Tensor4D, training: boolean): tf.Tensor2D => {
      let h = x;
      blocks.forEach(({ conv, bn }, i) => {
        const y = conv.apply(h);
        h = bn === null ? relu(y) : bn.apply(y, training, { relu: true });
        if (i < blocks.length - 1) h = maxPool2x2(h);
      });
      return linear.apply(globalAvgPool(h));
    };
    return builder.build(batchNorm ? 'cnn-small' : 'cnn-nobn', { channels: 3, height: CNN_SMALL_INPUT_SIZE, width: CNN_SMALL_INPUT_SIZE }, forward);
  } catch (err) {
    builder.disposeAll();
    throw err;
  }
}
