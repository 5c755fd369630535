/**
 * SGD with momentum, weight decay and Nesterov (`torch.optim.SGD`, dampening 0) on the device that
 * holds the parameters: the momentum buffers are variables beside the weights, and a step is a few
 * element-wise ops per parameter tensor, so on a GPU neither weights nor optimizer state ever
 * cross to the host (ARCHITECTURE.md, "The training step, on any backend").
 *
 * The ops and their order are those of the host reference `FlatSgd` (sgd.ts), each rounded to
 * float32 as that reference rounds them, so on cpu and wasm the two agree bit for bit (tested).
 * On webgpu, where every op is a dispatch that costs host time, the same maths runs as one fused
 * multi-tensor kernel per group of parameters (`EncourageSgdStep`, sgd-kernel.ts): ~6 kernels per
 * parameter tensor become one per group of 3.
 */
import * as tf from '@tensorflow/tfjs-core';
import { bindingsPerTensor, SGD_STEP, slotInputs, type SgdStepAttrs } from '../backend/webgpu/sgd-kernel.js';
import { readConcatenated, type Param } from '../models/index.js';
import type { SgdOptions } from './sgd.js';

/** Whether the active backend has the fused SGD kernel (webgpu with our kernels registered). */
function fusedUpdateAvailable(): boolean {
  return tf.getBackend() === 'webgpu' && tf.getKernel(SGD_STEP, 'webgpu') !== undefined;
}

/** Parameter tensors per fused kernel: as many as the device's storage-buffer bindings allow. */
function tensorsPerGroup(momentum: number): number {
  const limits = (tf.backend() as { device?: GPUDevice }).device?.limits;
  return Math.max(1, Math.floor((limits?.maxStorageBuffersPerShaderStage ?? 8) / bindingsPerTensor(momentum)));
}

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
    if (fusedUpdateAvailable()) {
      this.fusedStep(grads, lr, first);
      this.initialised = true;
      return;
    }
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

  /** The webgpu update: one `EncourageSgdStep` per group of consecutive parameters. */
  private fusedStep(grads: readonly tf.Tensor[], lr: number, first: boolean): void {
    const { momentum, weightDecay, nesterov } = this.options;
    const group = tensorsPerGroup(momentum);
    tf.tidy(() => {
      for (let start = 0; start < this.params.length; start += group) {
        const members = this.params.slice(start, start + group);
        const inputs: tf.NamedTensorMap = {};
        members.forEach((param, s) => {
          const [p, g, m] = slotInputs(s, momentum);
          inputs[p!] = param.variable;
          inputs[g!] = grads[start + s]!;
          if (m !== undefined) inputs[m] = this.buffers[start + s]!;
        });
        const attrs: SgdStepAttrs = { lr, momentum, weightDecay, nesterov, first, decay: members.map((p) => p.weightDecay) };
        const outs = tf.engine().runKernel(SGD_STEP, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        const perTensor = momentum === 0 ? 1 : 2;
        members.forEach((param, s) => {
          param.variable.assign(outs[s * perTensor]!);
          if (momentum !== 0) this.buffers[start + s]!.assign(outs[s * perTensor + 1]!);
        });
      }
    });
  }

  /** Momentum buffers as one flat array in parameter order (an asynchronous device read), for checkpoints. */
  async state(): Promise<{ momentumBuffer: Float32Array; initialised: boolean }> {
    const flat = await readConcatenated(this.buffers);
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
