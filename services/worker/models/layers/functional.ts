/**
 * Parameter-free layers over NHWC tensors (on webgpu's fused training path they record their
 * backward on the layer tape instead: fused-layers.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedFlatten, fusedGlobalAvgPool, fusedMaxPool2x2, fusedRelu } from './fused-layers.js';
import { activeTape } from './fused-tape.js';

/** Element-wise max(x, 0). */
export function relu<T extends tf.Tensor>(x: T): T {
  const tape = activeTape();
  if (tape !== null) return fusedRelu(tape, x);
  return tf.relu(x);
}

/**
 * Global average pooling [N, H, W, C] → [N, C]: PyTorch's `adaptive_avg_pool2d(x, 1).flatten(1)`
 * (He et al. ResNets) and, for 32×32 inputs, kuangliu's `avg_pool2d(out, 4)` on the 4×4 map.
 */
export function globalAvgPool(x: tf.Tensor4D): tf.Tensor2D {
  const tape = activeTape();
  if (tape !== null) return fusedGlobalAvgPool(tape, x);
  return tf.mean(x, [1, 2]) as tf.Tensor2D;
}

/** `nn.MaxPool2d(2)`: 2×2 windows, stride 2, no padding (floor output size). */
export function maxPool2x2(x: tf.Tensor4D): tf.Tensor4D {
  const tape = activeTape();
  if (tape !== null) return fusedMaxPool2x2(tape, x);
  return tf.maxPool(x, 2, 2, 'valid');
}

/**
 * Flatten [N, H, W, C] → [N, H·W·C] in NHWC order (PyTorch's `flatten(1)` would be CHW order;
 * only the order of the following dense layer's rows differs).
 */
export function flatten(x: tf.Tensor4D): tf.Tensor2D {
  const tape = activeTape();
  if (tape !== null) return fusedFlatten(tape, x);
  const [n, h, w, c] = x.shape;
  return tf.reshape(x, [n, h * w * c]);
}
