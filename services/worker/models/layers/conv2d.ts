/**
 * 2-D convolution over NHWC tensors with PyTorch `nn.Conv2d` semantics for square kernels:
 * symmetric zero padding `padding` on each side and floor output size
 * ⌊(H + 2·padding − k)/stride⌋ + 1. This matters for stride-2 3×3 convs: PyTorch pads 1 on both
 * sides, whereas tfjs 'same' would pad 0 before and 1 after (different sampling grid), so the
 * padding is passed to tfjs as an explicit number rather than 'same'.
 *
 * Filter layout is tfjs's [kh, kw, in, out]; weights are initialised like PyTorch's default
 * (`kaiming_uniform_(a=sqrt(5))`, see init.ts) with fan_in = in·kh·kw.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../../core/errors.js';
import type { ModuleBuilder } from '../module-builder.js';
import { fusedConv2d } from './fused-layers.js';
import { activeTape } from './fused-tape.js';
import { defaultInitBound, uniformValues } from './init.js';

/** Options of `Conv2d`. ResNets use `bias: false` (BatchNorm follows every conv). */
export interface Conv2dOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride?: number;
  /** Zero padding on every side; default 0 as in PyTorch. */
  readonly padding?: number;
  readonly bias?: boolean;
}

/** A `nn.Conv2d` over NHWC input: params `weight` ([k, k, in, out]) and optionally `bias` ([out]). */
export class Conv2d {
  readonly weight: tf.Variable<tf.Rank.R4>;
  readonly bias: tf.Variable<tf.Rank.R1> | null;
  readonly stride: number;
  readonly padding: number;

  constructor(builder: ModuleBuilder, name: string, readonly options: Conv2dOptions) {
    const { inChannels, outChannels, kernelSize } = options;
    this.stride = options.stride ?? 1;
    this.padding = options.padding ?? 0;
    for (const [key, value] of [['inChannels', inChannels], ['outChannels', outChannels], ['kernelSize', kernelSize], ['stride', this.stride]] as const) {
      if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name}.${key}`, value, 'a positive integer');
    }
    if (!Number.isInteger(this.padding) || this.padding < 0) throw new ConfigError(`${name}.padding`, this.padding, 'a non-negative integer');
    const b = builder.scope(name);
    const fanIn = inChannels * kernelSize * kernelSize;
    const bound = defaultInitBound(fanIn);
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    this.weight = b.param('weight', shape, uniformValues(b.rng, fanIn * outChannels, bound), true) as tf.Variable<tf.Rank.R4>;
    // PyTorch: bias ~ U(−1/sqrt(fan_in), 1/sqrt(fan_in)); biases are not weight-decayed.
    this.bias = options.bias === true
      ? (b.param('bias', [outChannels], uniformValues(b.rng, outChannels, bound), false) as tf.Variable<tf.Rank.R1>)
      : null;
  }

  /** Convolve `x` ([N, H, W, in]) to [N, H', W', out]. */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const pad = this.padding === 0 ? 'valid' : this.padding;
    const tape = activeTape();
    if (tape !== null) return fusedConv2d(tape, x, this.weight, this.bias, this.stride, pad);
    const y = tf.conv2d(x, this.weight, this.stride, pad);
    return this.bias === null ? y : tf.add(y, this.bias);
  }
}
