/**
 * CIFAR ResNets built from basic blocks (NHWC):
 *
 * - `resnet18`: the CIFAR variant of kuangliu/pytorch-cifar `models/resnet.py` — 3×3 stem conv to 64
 *   channels (stride 1, no max-pool), stages of [2, 2, 2, 2] blocks with 64/128/256/512 channels
 *   and strides 1/2/2/2, global average pool (`avg_pool2d(out, 4)` on the 4×4 map), linear 512→K.
 *   11,173,962 trainable parameters for K = 10.
 * - `resnet20/32/56`: He et al. 2016 §4.2 CIFAR ResNets with depth 6n+2 — 3×3 stem conv to 16
 *   channels, three stages of n blocks with 16/32/64 channels and strides 1/2/2, global average
 *   pool, linear 64→K; projection shortcuts (option B: 1×1 conv + BN) where the shape changes,
 *   exactly as /work/shared/peers/torch_resnet20.py. For K = 10: 272,474 / 466,906 / 855,770
 *   trainable parameters (n = 3 / 5 / 9).
 *
 * Param names follow kuangliu's modules: `conv1`, `bn1`, `layer{s}.{i}.…`, `linear`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../core/errors.js';
import { BasicBlock } from './basic-block.js';
import { BatchNorm2d } from './layers/batch-norm.js';
import { Conv2d } from './layers/conv2d.js';
import { Dense } from './layers/dense.js';
import { globalAvgPool } from './layers/functional.js';
import type { Model } from './model.js';
import { ModuleBuilder } from './module-builder.js';

/** One stage: `blocks` basic blocks with `planes` channels; the first block carries `stride`. */
export interface ResNetStage {
  readonly planes: number;
  readonly blocks: number;
  readonly stride: number;
}

/** Shape of a basic-block ResNet. */
export interface ResNetSpec {
  readonly stemChannels: number;
  readonly stages: readonly ResNetStage[];
}

/** kuangliu/pytorch-cifar ResNet18. */
export const RESNET18_SPEC: ResNetSpec = {
  stemChannels: 64,
  stages: [
    { planes: 64, blocks: 2, stride: 1 },
    { planes: 128, blocks: 2, stride: 2 },
    { planes: 256, blocks: 2, stride: 2 },
    { planes: 512, blocks: 2, stride: 2 },
  ],
};

/** He et al. CIFAR ResNet of depth 6n+2 (n blocks per stage). */
export function cifarResNetSpec(depth: number): ResNetSpec {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new ConfigError('model.depth', depth, 'an integer 6n+2 with n ≥ 1 (20, 32, 44, 56, 110, …)');
  }
  const n = (depth - 2) / 6;
  return {
    stemChannels: 16,
    stages: [
      { planes: 16, blocks: n, stride: 1 },
      { planes: 32, blocks: n, stride: 2 },
      { planes: 64, blocks: n, stride: 2 },
    ],
  };
}

/**
 * Build a basic-block ResNet with PyTorch-default initialisation drawn from `new Rng(seed)`.
 * @param name registry name reported by `model.name`
 */
export function createResNet(name: string, spec: ResNetSpec, numClasses: number, seed: number): Model {
  const builder = ModuleBuilder.create(seed);
  try {
    const conv1 = new Conv2d(builder, 'conv1', { inChannels: 3, outChannels: spec.stemChannels, kernelSize: 3, stride: 1, padding: 1 });
    const bn1 = new BatchNorm2d(builder, 'bn1', spec.stemChannels);
    const blocks: BasicBlock[] = [];
    let inPlanes = spec.stemChannels;
    spec.stages.forEach((stage, s) => {
      for (let i = 0; i < stage.blocks; i++) {
        blocks.push(new BasicBlock(builder, `layer${s + 1}.${i}`, inPlanes, stage.planes, i === 0 ? stage.stride : 1));
        inPlanes = stage.planes;
      }
    });
    const linear = new Dense(builder, 'linear', inPlanes, numClasses);
    const forward = (x: tf.Tensor4D, training: boolean): tf.Tensor2D => {
      let out = bn1.apply(conv1.apply(x), training, { relu: true });
      for (const block of blocks) out = block.apply(out, training);
      return linear.apply(globalAvgPool(out));
    };
    return builder.build(name, { channels: 3 }, forward);
  } catch (err) {
    builder.disposeAll();
    throw err;
  }
}
