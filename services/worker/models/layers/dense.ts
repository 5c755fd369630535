/**
 * Fully connected layer with PyTorch `nn.Linear` semantics and default initialisation:
 * weight and bias ~ U(−1/sqrt(in), 1/sqrt(in)) (`kaiming_uniform_(a=sqrt(5))` and the bias rule in
 * `Linear.reset_parameters`). The weight is stored as [in, out] (PyTorch stores [out, in]) so the
 * forward is a plain `x·W + b` without a transpose.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../../core/errors.js';
import type { ModuleBuilder } from '../module-builder.js';
import { fusedDense } from './fused-layers.js';
import { activeTape } from './fused-tape.js';
import { defaultInitBound, uniformValues } from './init.js';

/** A `nn.Linear(inFeatures, outFeatures)`: params `weight` ([in, out], decayed) and `bias` ([out], not decayed). */
export class Dense {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;

  constructor(builder: ModuleBuilder, name: string, readonly inFeatures: number, readonly outFeatures: number) {
    if (!Number.isInteger(inFeatures) || inFeatures <= 0) throw new ConfigError(`${name}.inFeatures`, inFeatures, 'a positive integer');
    if (!Number.isInteger(outFeatures) || outFeatures <= 0) throw new ConfigError(`${name}.outFeatures`, outFeatures, 'a positive integer');
    const b = builder.scope(name);
    const bound = defaultInitBound(inFeatures);
    this.weight = b.param('weight', [inFeatures, outFeatures], uniformValues(b.rng, inFeatures * outFeatures, bound), true) as tf.Variable<tf.Rank.R2>;
    this.bias = b.param('bias', [outFeatures], uniformValues(b.rng, outFeatures, bound), false) as tf.Variable<tf.Rank.R1>;
  }

  /** [N, in] → [N, out]. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    const tape = activeTape();
    if (tape !== null) return fusedDense(tape, x, this.weight, this.bias);
    return tf.add(tf.matMul(x, this.weight), this.bias) as tf.Tensor2D;
  }
}
