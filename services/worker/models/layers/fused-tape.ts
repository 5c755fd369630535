/**
 * The fused training path's gradient tape. On webgpu every TF.js op is a dispatch that costs
 * ~70 µs of host time (GPU-NOTES.md), and the engine's own autodiff multiplies ops: each op saves
 * its inputs through an `Identity` clone, each gradient casts and reshapes, and BatchNorm written
 * with tf ops is ~40 ops per layer. So on webgpu a training-mode forward runs inside *one*
 * `tf.customGrad` over all parameters (model-level, module-builder.ts), where the engine records
 * nothing; each layer instead records its own backward here, computed by fused kernels
 * (BatchNorm(+residual)(+ReLU) forward/backward, conv dx with the residual gradient summed in its
 * epilogue, the implicit-GEMM dW). The customGrad's gradient runs this tape backwards.
 *
 * Rules the layers follow:
 * - a layer records `record(inputs, output, backward)`; every input must be the network input or
 *   the output of a recorded layer ({@link LayerTape.record} throws otherwise: an op outside the
 *   layers would silently cut the gradient);
 * - tensors the backward needs are kept with {@link LayerTape.hold} (a second reference to the same
 *   buffer, no kernel, no copy), released when the tape is disposed;
 * - a backward receives ∂L/∂output (owned by the tape) and hands each input gradient over with
 *   {@link LayerTape.accumulate} (ownership passes to the tape) and each parameter gradient with
 *   {@link LayerTape.paramGrad}; {@link LayerTape.takeGrad} lets a kernel fold an input's gradient
 *   so far into its own output (conv dx + addend) instead of an extra `Add`.
 * Nodes run in reverse recording order, which is a reverse topological order because a layer is
 * recorded only after its inputs exist.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_FORWARD } from '../../backend/webgpu/batch-norm-kernels.js';

interface Node {
  readonly output: tf.Tensor;
  readonly backward: (dy: tf.Tensor) => void;
}

/** The backward of one fused forward pass: recorded layers, gradients so far, and the tensors kept for them. */
export class LayerTape {
  private readonly nodes: Node[] = [];
  /** Ids of tensors recorded nodes produced (they have gradients). */
  private readonly produced = new Set<number>();
  /** Ids of tensors that need no gradient but may be read: the network input. */
  private readonly external = new Set<number>();
  private readonly grads = new Map<number, tf.Tensor>();
  private readonly paramGrads = new Map<tf.Variable, tf.Tensor>();
  private readonly held: tf.Tensor[] = [];
  private disposed = false;

  /** Declare `x` a tensor layers may read without a gradient (the network input). */
  markInput(x: tf.Tensor): void {
    this.external.add(x.id);
  }

  /** Whether `t` is downstream of the parameters (its gradient is wanted). */
  needsGrad(t: tf.Tensor): boolean {
    return this.produced.has(t.id);
  }

  /**
   * A second reference to `t`'s buffer that lives until the tape is disposed (what the engine's
   * saved-tensor `Identity` clones do, without a kernel call).
   */
  hold<T extends tf.Tensor>(t: T): T {
    const shared = share(t);
    this.held.push(shared);
    return shared;
  }

  /** Record a layer: `output` was computed from `inputs`; `backward(∂L/∂output)` propagates. */
  record(inputs: readonly tf.Tensor[], output: tf.Tensor, backward: (dy: tf.Tensor) => void): void {
    for (const x of inputs) {
      if (!this.produced.has(x.id) && !this.external.has(x.id)) {
        throw new Error('fused training path: a layer input was not produced by a recorded layer (an op outside the layers in the forward pass?)');
      }
    }
    this.produced.add(output.id);
    this.nodes.push({ output, backward });
  }

  /** Add `g` to the gradient of `x` (the tape takes ownership of `g`). */
  accumulate(x: tf.Tensor, g: tf.Tensor): void {
    const prior = this.grads.get(x.id);
    if (prior === undefined) {
      this.grads.set(x.id, g);
      return;
    }
    this.grads.set(x.id, tf.add(prior, g));
    tf.dispose([prior, g]);
  }

  /** Remove and return the gradient `x` has received so far (the caller owns it), if any. */
  takeGrad(x: tf.Tensor): tf.Tensor | undefined {
    const g = this.grads.get(x.id);
    this.grads.delete(x.id);
    return g;
  }

  /** Add `g` to the gradient of parameter `v` (the tape takes ownership of `g`). */
  paramGrad(v: tf.Variable, g: tf.Tensor): void {
    const prior = this.paramGrads.get(v);
    if (prior === undefined) {
      this.paramGrads.set(v, g);
      return;
    }
    this.paramGrads.set(v, tf.add(prior, g));
    tf.dispose([prior, g]);
  }

  /**
   * Propagate ∂L/∂output (`dy`, not taken over) through every recorded layer.
   * @returns ∂L/∂v for each of `params`, in that order (the caller owns them).
   */
  backward(output: tf.Tensor, dy: tf.Tensor, params: readonly tf.Variable[]): tf.Tensor[] {
    if (this.disposed) throw new Error('fused training path: the tape was released before its backward pass');
    if (!this.produced.has(output.id)) throw new Error('fused training path: the model output was not produced by a recorded layer');
    this.grads.set(output.id, share(dy));
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      const g = this.takeGrad(node.output);
      if (g === undefined) continue;
      try {
        node.backward(g);
      } finally {
        g.dispose();
      }
    }
    return params.map((v) => {
      const g = this.paramGrads.get(v);
      this.paramGrads.delete(v);
      return g ?? tf.zerosLike(v);
    });
  }

  /** Release every held tensor and any gradient left over. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...this.held, ...this.grads.values(), ...this.paramGrads.values()]);
    this.held.length = 0;
    this.grads.clear();
    this.paramGrads.clear();
  }
}

/** A new tensor on `t`'s buffer (reference-counted, kept out of tidy scopes): a clone without a kernel. */
function share<T extends tf.Tensor>(t: T): T {
  const backend = tf.backend();
  backend.incRef(t.dataId);
  return tf.keep(tf.engine().makeTensorFromTensorInfo({ dataId: t.dataId, shape: [...t.shape], dtype: t.dtype }, backend)) as T;
}

let active: LayerTape | null = null;

/** The tape of the fused forward pass running now, or null (layers then use tf ops and the engine's autodiff). */
export function activeTape(): LayerTape | null {
  return active;
}

/** Run `forward` with `tape` active (layers record on it). Not re-entrant. */
export function withTape<T>(tape: LayerTape, forward: () => T): T {
  if (active !== null) throw new Error('fused training path: a fused forward pass is already running');
  active = tape;
  try {
    return forward();
  } finally {
    active = null;
  }
}

let fusedEnabled = true;

/** Turn the fused path off (or back on) — for before/after measurements; it is on by default. */
export function setFusedTraining(enabled: boolean): void {
  fusedEnabled = enabled;
}

/**
 * Whether a training-mode forward should take the fused path: the active backend is webgpu and the
 * fused kernels are registered for it (cpu and wasm keep the tf-ops layers, bit for bit).
 */
export function fusedTrainingAvailable(): boolean {
  return fusedEnabled && tf.getBackend() === 'webgpu' && tf.getKernel(BATCH_NORM_FORWARD, 'webgpu') !== undefined;
}

/**
 * A model's fused training forward: the whole forward pass as one `tf.customGrad` over the
 * parameters, its layers recording on a fresh tape, the customGrad's gradient running the tape.
 * Holds the tape of the latest pass until its backward has run or {@link release} is called (the
 * model releases it with its pending running statistics, so a forward without a backward — or
 * an abandoned step — leaks nothing).
 */
export class FusedForward {
  private tape: LayerTape | null = null;

  /**
   * `forward(x)` with gradients (w.r.t. `params` only; the input is a constant) by the layer tape.
   * @param params the model's parameters: the customGrad's inputs, in the order gradients return.
   */
  run(x: tf.Tensor4D, params: readonly tf.Variable[], forward: (x: tf.Tensor4D) => tf.Tensor2D): tf.Tensor2D {
    this.release();
    const op = tf.customGrad((..._args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const tape = new LayerTape();
      this.tape = tape;
      tape.markInput(x);
      const out = withTape(tape, () => forward(x));
      return {
        value: out,
        gradFunc: (dy: tf.Tensor) => {
          try {
            return tape.backward(out, dy, params);
          } finally {
            tape.dispose();
            if (this.tape === tape) this.tape = null;
          }
        },
      };
    });
    return op(...params) as tf.Tensor2D;
  }

  /** Release the latest pass's tape (held tensors, gradients) if its backward has not run. */
  release(): void {
    this.tape?.dispose();
    this.tape = null;
  }
}
