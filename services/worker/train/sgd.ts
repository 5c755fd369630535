/**
 * SGD with momentum, weight decay and Nesterov, exactly as `torch.optim.SGD` (dampening 0):
 *   d = g + wd·p;  buf = m·buf + d (buf = d on the first step);  d = nesterov ? d + m·buf : buf;  p −= lr·d.
 * It works on one flat Float32Array of all parameters — the same fused buffer the all-reduce
 * moves — so the optimizer state is a single array that checkpoints save byte for byte.
 */
export interface SgdOptions {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
}

export class FlatSgd {
  /** Momentum buffer, one entry per parameter element (PyTorch's `momentum_buffer`). */
  readonly momentumBuffer: Float32Array;
  /** False until the first step, when PyTorch initialises the buffer with d instead of m·0 + d. */
  private initialised = false;

  /**
   * @param size number of parameter elements.
   * @param decayMask 1 where weight decay applies, 0 where it does not (BatchNorm γ/β and biases,
   *   the common practice of Goyal et al. 2017 §5.1 and most CIFAR recipes).
   */
  constructor(
    readonly size: number,
    readonly decayMask: Uint8Array,
    readonly options: SgdOptions,
  ) {
    if (decayMask.length !== size) throw new RangeError(`decayMask has ${decayMask.length} entries for ${size} parameters`);
    this.momentumBuffer = new Float32Array(size);
  }

  /** Update `params` in place with the gradient `grads` at learning rate `lr`. */
  step(params: Float32Array, grads: Float32Array, lr: number): void {
    if (params.length !== this.size || grads.length !== this.size) {
      throw new RangeError(`SGD step with ${params.length} params and ${grads.length} grads, expected ${this.size}`);
    }
    const { momentum, weightDecay, nesterov } = this.options;
    const buf = this.momentumBuffer;
    const mask = this.decayMask;
    const first = !this.initialised;
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      let d = grads[i]! + (mask[i] === 1 ? weightDecay * p : 0);
      if (momentum !== 0) {
        const b = first ? d : momentum * buf[i]! + d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
      }
      params[i] = p - lr * d;
    }
    this.initialised = true;
  }

  /** State for checkpoints. */
  state(): { momentumBuffer: Float32Array; initialised: boolean } {
    return { momentumBuffer: this.momentumBuffer, initialised: this.initialised };
  }

  /** Restore from `state()`; sizes must match. */
  restore(state: { momentumBuffer: Float32Array; initialised: boolean }): void {
    if (state.momentumBuffer.length !== this.size) {
      throw new RangeError(`momentum buffer has ${state.momentumBuffer.length} entries, expected ${this.size}`);
    }
    this.momentumBuffer.set(state.momentumBuffer);
    this.initialised = state.initialised;
  }
}
