/**
 * Fast per-channel reductions and broadcasts over NHWC tensors, used by BatchNorm.
 *
 * Two wasm (XNNPACK) performance facts shape this file; both were measured on this project's
 * 2-core CI machine, best of 30, float32:
 *
 * 1. Reductions. `tf.sum(x, [0, 1, 2])` first transposes the whole tensor so that the reduced
 *    axes are innermost (1.47 ms for a fresh [64,32,32,16] tensor). A GEMM with a row of ones is
 *    no better on tensors it has not seen before (2.8 ms: XNNPACK packs the [M, C] operand as
 *    fully-connected weights, which only pays off when they are reused). A whole-image
 *    average pool — native NHWC in XNNPACK — followed by a mean over the N per-image means takes
 *    0.11 ms. (Measured on freshly computed tensors so that no operator cache flatters a variant.)
 * 2. Broadcasts. A binary op between x and a [C] vector costs one XNNPACK inner loop per row of C
 *    values; with C = 16 that is 7× slower than an op between equal shapes (1.26 ms vs 0.20 ms
 *    for [64,32,32,16]). Viewing x as [M/k, k·C] and the vector as k copies of itself ([k·C])
 *    gives rows of ≥ 1024 values and brings the broadcast to the equal-shape cost (0.17 ms).
 *    The reshape is free (NHWC is channel-innermost, so column j of the wide view is channel
 *    j mod C) and the k copies of a [C] vector are made by broadcasting, not by `Tile`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Row width (values) above which XNNPACK broadcasting costs the same as an equal-shape op. */
export const TARGET_ROW_WIDTH = 1024;

/** Largest k ≤ ceil(target / c) dividing m, so that [m, c] can be viewed as [m/k, k·c]. */
export function rowFactor(m: number, c: number, targetWidth: number = TARGET_ROW_WIDTH): number {
  let k = Math.max(1, Math.min(m, Math.ceil(targetWidth / c)));
  while (m % k !== 0) k--;
  return k;
}

/**
 * Per-channel views of tensors of one NHWC shape: `wide` reshapes to [M/k, k·C], `widen`
 * repeats a [C] vector k times so it broadcasts over the wide view, `sum` reduces N, H, W.
 */
export class ChannelPlan {
  /** N·H·W: values per channel. */
  readonly count: number;
  readonly channels: number;
  /** Rows of the wide view are k·C values long. */
  readonly k: number;

  constructor(readonly shape: readonly [number, number, number, number]) {
    const [n, h, w, c] = shape;
    this.count = n * h * w;
    this.channels = c;
    this.k = rowFactor(this.count, c);
  }

  /** [N, H, W, C] (or any tensor of the same size) → [M/k, k·C]. */
  wide(x: tf.Tensor): tf.Tensor2D {
    return tf.reshape(x, [this.count / this.k, this.k * this.channels]);
  }

  /** Back from the wide view to [N, H, W, C]. */
  unwide(x: tf.Tensor): tf.Tensor4D {
    return tf.reshape(x, [...this.shape]);
  }

  /** A [C] vector repeated k times ([k·C]) so that it broadcasts along the wide view's rows. */
  widen(v: tf.Tensor1D): tf.Tensor1D {
    if (this.k === 1) return v;
    return tf.reshape(tf.mul(tf.ones([this.k, 1]), v), [this.k * this.channels]);
  }

  /**
   * Mean over N, H, W of a tensor of this shape (any view of it), as a [C] tensor: the mean of the
   * per-image means, which equals the overall mean because every image has H·W values.
   */
  mean(x: tf.Tensor): tf.Tensor1D {
    const [n, h, w, c] = this.shape;
    const perImage = tf.avgPool(tf.reshape(x, [...this.shape]) as tf.Tensor4D, [h, w], 1, 'valid');
    return tf.mean(tf.reshape(perImage, [n, c]), 0);
  }

  /** Σ over N, H, W of a tensor of this shape (any view of it), as a [C] tensor. */
  sum(x: tf.Tensor): tf.Tensor1D {
    return tf.mul(this.mean(x), this.count);
  }
}

/** Σ over N, H, W of an NHWC tensor, as a [C] tensor. */
export function channelSum(x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => new ChannelPlan(x.shape).sum(x));
}

/** Mean over N, H, W of an NHWC tensor, as a [C] tensor. */
export function channelMean(x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    return new ChannelPlan(x.shape).mean(x);
  });
}
