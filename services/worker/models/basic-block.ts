/**
 * The ResNet basic block (He et al. 2016, Fig. 2 left) as in kuangliu/pytorch-cifar `BasicBlock`:
 *   out = relu(bn1(conv1(x)));  out = bn2(conv2(out));  out = relu(out + shortcut(x))
 * with 3×3 convs (padding 1, the first one carrying the stride) and a projection shortcut
 * `1×1 conv (stride) + BN` when the stride is not 1 or the channel count changes (option B),
 * identity otherwise.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ModuleBuilder } from './module-builder.js';
import { BatchNorm2d } from './layers/batch-norm.js';
import { Conv2d } from './layers/conv2d.js';

/** One basic block; param names follow PyTorch: `conv1`, `bn1`, `conv2`, `bn2`, `shortcut.0`, `shortcut.1`. */
export class BasicBlock {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly shortcut: { readonly conv: Conv2d; readonly bn: BatchNorm2d } | null;

  constructor(builder: ModuleBuilder, name: string, inPlanes: number, planes: number, stride: number) {
    const b = builder.scope(name);
    // Creation order = PyTorch registration order, so params/buffers order and RNG draws are fixed.
    this.conv1 = new Conv2d(b, 'conv1', { inChannels: inPlanes, outChannels: planes, kernelSize: 3, stride, padding: 1 });
    this.bn1 = new BatchNorm2d(b, 'bn1', planes);
    this.conv2 = new Conv2d(b, 'conv2', { inChannels: planes, outChannels: planes, kernelSize: 3, stride: 1, padding: 1 });
    this.bn2 = new BatchNorm2d(b, 'bn2', planes);
    if (stride !== 1 || inPlanes !== planes) {
      const s = b.scope('shortcut');
      this.shortcut = {
        conv: new Conv2d(s, '0', { inChannels: inPlanes, outChannels: planes, kernelSize: 1, stride, padding: 0 }),
        bn: new BatchNorm2d(s, '1', planes),
      };
    } else {
      this.shortcut = null;
    }
  }

  /** Forward pass of the block (call inside a tidy; the model's `apply` provides one). */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const out = this.conv2.apply(this.bn1.apply(this.conv1.apply(x), training, { relu: true }));
    const skip = this.shortcut === null ? x : this.shortcut.bn.apply(this.shortcut.conv.apply(x), training);
    // relu(bn2(out) + skip): one kernel on webgpu's fused path, the same tf ops as before elsewhere.
    return this.bn2.apply(out, training, { residual: skip, relu: true });
  }
}
