/**
 * SGD with momentum, weight decay and Nesterov (`torch.optim.SGD`, dampening 0) on the device that
 * holds the parameters: the momentum buffers are variables beside the weights, and a step is a few
 * element-wise ops per parameter tensor, so on a GPU neither weights nor optimizer state ever
 * cross to the host (ARCHITECTURE.md, "The training step, on any backend").
 *
 * The ops and their order are those of the host reference `FlatSgd` (sgd.ts), each rounded to
 * float32 as that reference rounds them, so on cpu and wasm the two agree bit for bit (tested).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Param } from '../models/index.js';
import type { SgdOptions } from './sgd.js';

export class DeviceSgd {
  /** One momentum buffer per parameter, in `params` order (PyTorch's `momentum_buffer`). */
  private readonly buffers: tf.Variable[];
  /** False until the first step, when PyTorch initialises the buffer with d instead of m·0 + d. */
  private initialised = false;
  /** Element count of all parameters together (the flat momentum vector of a checkpoint). */
  readonly size: number;

  constructor(
    private readonly params: readonly Param[],
    readonly options: SgdOptions,
  ) {
    this.buffers = params.map((p) => tf.variable(tf.zerosLike(p.variable), false));
    this.size = params.reduce((n, p) => n + p.variable.size, 0);
  }

  /**
   * Update every parameter in place from `grads` (same order and shapes as the params) at
   * learning rate `lr`. The gradients stay owned by the caller.
   */
  step(grads: readonly tf.Tensor[], lr: number): void {
    // Validate everything before the first assign: a half-applied step would corrupt the replica.
    for (const [i, param] of this.params.entries()) {
      const g = grads[i];
      if (g !== undefined && !tf.util.arraysEqual(g.shape, param.variable.shape)) {
        throw new RangeError(`gradient ${i} (${param.name}) has shape [${g.shape.join(',')}], the parameter [${param.variable.shape.join(',')}]`);
      }
    }
    if (grads.length !== this.params.length) throw new RangeError(`SGD step with ${grads.length} gradients for ${this.params.length} parameters`);
    const { momentum, weightDecay, nesterov } = this.options;
    const first = !this.initialised;
    tf.tidy(() => {
      const rate = tf.scalar(lr, 'float32');
      const m = tf.scalar(momentum, 'float32');
      const wd = tf.scalar(weightDecay, 'float32');
      for (const [i, param] of this.params.entries()) {
        const p = param.variable;
        const g = grads[i]!;
        let d = param.weightDecay && weightDecay !== 0 ? tf.add(g, tf.mul(wd, p)) : g;
        if (momentum !== 0) {
          const buf = this.buffers[i]!;
          const b = first ? d : tf.add(tf.mul(m, buf), d);
          buf.assign(b);
          d = nesterov ? tf.add(d, tf.mul(m, b)) : b;
        }
        p.assign(tf.sub(p, tf.mul(rate, d)));
      }
    });
    this.initialised = true;
  }

  /** Momentum buffers as one flat array in parameter order (an asynchronous device read), for checkpoints. */
  async state(): Promise<{ momentumBuffer: Float32Array; initialised: boolean }> {
    const parts = await Promise.all(this.buffers.map((b) => b.data() as Promise<Float32Array>));
    const flat = new Float32Array(this.size);
    let off = 0;
    for (const part of parts) {
      flat.set(part, off);
      off += part.length;
    }
    return { momentumBuffer: flat, initialised: this.initialised };
  }

  /** Restore from `state()`; the sizes must match. */
  restore(state: { momentumBuffer: Float32Array; initialised: boolean }): void {
    if (state.momentumBuffer.length !== this.size) {
      throw new RangeError(`momentum buffer has ${state.momentumBuffer.length} entries, expected ${this.size}`);
    }
    let off = 0;
    for (const buf of this.buffers) {
      const values = state.momentumBuffer.slice(off, off + buf.size);
      tf.tidy(() => buf.assign(tf.tensor(values, buf.shape, 'float32')));
      off += buf.size;
    }
    this.initialised = state.initialised;
  }

  /** Release the momentum buffers. */
  dispose(): void {
    for (const b of this.buffers) b.dispose();
  }
}
