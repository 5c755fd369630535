/**
 * SGD with momentum, weight decay and Nesterov, exactly as `torch.optim.SGD` (dampening 0):
 *   d = g + wd·p;  buf = m·buf + d (buf = d on the first step);  d = nesterov ? d + m·buf : buf;  p −= lr·d.
 * It works on one flat Float32Array of all parameters, on the host. Training runs the same maths on
 * the device (`DeviceSgd`); this is its reference: every product and sum is rounded to float32, as
 * PyTorch's float32 kernels and TensorFlow.js's element-wise ops do (lr, wd and m are float32
 * scalars there too), so the device update on cpu/wasm equals this one bit for bit (tested).
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
    const f = Math.fround;
    const momentum = f(this.options.momentum);
    const weightDecay = f(this.options.weightDecay);
    const rate = f(lr);
    const { nesterov } = this.options;
    const buf = this.momentumBuffer;
    const mask = this.decayMask;
    const first = !this.initialised;
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      let d = mask[i] === 1 && weightDecay !== 0 ? f(grads[i]! + f(weightDecay * p)) : grads[i]!;
      if (momentum !== 0) {
        const b = first ? d : f(f(momentum * buf[i]!) + d);
        buf[i] = b;
        d = nesterov ? f(d + f(momentum * b)) : b;
      }
      params[i] = f(p - f(rate * d));
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
