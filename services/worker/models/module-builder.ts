/**
 * Builds a `Model` out of layers: hands out variables with PyTorch-style hierarchical names,
 * records params/buffers/BatchNorm layers in creation order, and wraps the forward function into
 * an object implementing the `Model` protocol (tidy, input checks, pending running statistics).
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../core/random.js';
import './register-gradients.js';
import { FusedForward, fusedTrainingAvailable } from './layers/fused-tape.js';
import { sizeOf } from './layers/init.js';
import type { Model, ModelBuffer, Param, RunningStatsLayer } from './model.js';
import { ModelInputError, ModelStateError } from './model-errors.js';

/**
 * tfjs keeps a global registry of variable names and refuses duplicates, so every model instance
 * prefixes its variables with a process-unique id. The id never influences numerics.
 */
let nextInstanceId = 0;

/** Collections shared by a root builder and all of its scoped children. */
interface Registry {
  readonly instancePrefix: string;
  readonly params: Param[];
  readonly buffers: ModelBuffer[];
  readonly runningStatsLayers: RunningStatsLayer[];
  readonly names: Set<string>;
}

/** The forward function a concrete architecture provides; it runs inside `tf.tidy`. */
export type ForwardFn = (x: tf.Tensor4D, training: boolean) => tf.Tensor2D;

/** Describes the input a model accepts, for validation in `apply`. */
export interface InputSpec {
  /** Required channel count (3 for CIFAR RGB). */
  readonly channels: number;
  /** Required spatial size, or undefined when any size works (global pooling). */
  readonly height?: number;
  readonly width?: number;
}

/**
 * Hands out parameters and buffers under a name prefix. `scope('layer1.0')` returns a child that
 * shares the same collections and RNG, so names compose like PyTorch module paths.
 */
export class ModuleBuilder {
  private constructor(
    private readonly registry: Registry,
    /** The seeded stream every initialiser draws from, in creation order. */
    readonly rng: Rng,
    private readonly prefix: string,
  ) {}

  /** A root builder whose initialisers draw from `new Rng(seed)`. */
  static create(seed: number): ModuleBuilder {
    const registry: Registry = {
      instancePrefix: `model${nextInstanceId++}`,
      params: [],
      buffers: [],
      runningStatsLayers: [],
      names: new Set(),
    };
    return new ModuleBuilder(registry, new Rng(seed), '');
  }

  /** A child builder for a sub-module; its names are `${prefix}.${name}`. */
  scope(name: string): ModuleBuilder {
    return new ModuleBuilder(this.registry, this.rng, this.qualify(name));
  }

  /** Create a trainable parameter initialised to `values` (copied). */
  param(name: string, shape: readonly number[], values: Float32Array, weightDecay: boolean): tf.Variable {
    const fullName = this.claim(name, shape, values);
    const variable = makeVariable(values, shape, true, this.variableName(fullName));
    this.registry.params.push({ name: fullName, variable, weightDecay });
    return variable;
  }

  /** Create a non-trainable buffer initialised to `values` (copied). */
  buffer(name: string, shape: readonly number[], values: Float32Array): tf.Variable {
    const fullName = this.claim(name, shape, values);
    const variable = makeVariable(values, shape, false, this.variableName(fullName));
    this.registry.buffers.push({ name: fullName, variable });
    return variable;
  }

  /** Register a layer taking part in the running-statistics protocol (BatchNorm). */
  registerRunningStats(layer: RunningStatsLayer): void {
    this.registry.runningStatsLayers.push(layer);
  }

  /** Dispose everything created so far (used when construction fails half-way). */
  disposeAll(): void {
    for (const layer of this.registry.runningStatsLayers) layer.discardRunningStats();
    for (const p of this.registry.params) p.variable.dispose();
    for (const b of this.registry.buffers) b.variable.dispose();
    this.registry.params.length = 0;
    this.registry.buffers.length = 0;
    this.registry.runningStatsLayers.length = 0;
  }

  /** Freeze the collections into a `Model` running `forward`. Call on the root builder. */
  build(name: string, input: InputSpec, forward: ForwardFn): Model {
    return new ComposedModel(
      name,
      input,
      Object.freeze([...this.registry.params]),
      Object.freeze([...this.registry.buffers]),
      [...this.registry.runningStatsLayers],
      forward,
    );
  }

  private qualify(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}.${name}`;
  }

  private variableName(fullName: string): string {
    return `${this.registry.instancePrefix}/${fullName}`;
  }

  private claim(name: string, shape: readonly number[], values: Float32Array): string {
    const fullName = this.qualify(name);
    if (this.registry.names.has(fullName)) throw new ModelStateError(fullName, 'registered twice');
    if (sizeOf(shape) !== values.length) {
      throw new ModelStateError(fullName, `initial values have ${values.length} elements, shape [${shape.join(',')}] needs ${sizeOf(shape)}`);
    }
    this.registry.names.add(fullName);
    return fullName;
  }
}

/**
 * A variable holding a private copy of `values`. The copy matters on the cpu backend, which keeps a
 * reference to the typed array it is given. The temporary initial tensor is disposed at once: the
 * variable holds its own reference to the data, and the temporary would otherwise count as a leak.
 */
function makeVariable(values: Float32Array, shape: readonly number[], trainable: boolean, name: string): tf.Variable {
  const initial = tf.tensor(values.slice(), [...shape], 'float32');
  try {
    return tf.variable(initial, trainable, name, 'float32');
  } finally {
    initial.dispose();
  }
}

/** The `Model` implementation shared by every architecture. */
class ComposedModel implements Model {
  private disposed = false;
  /** webgpu's training forward: one customGrad whose layers record fused kernels (fused-tape.ts). */
  private readonly fused = new FusedForward();

  constructor(
    readonly name: string,
    private readonly input: InputSpec,
    readonly params: readonly Param[],
    readonly buffers: readonly ModelBuffer[],
    private readonly runningStatsLayers: readonly RunningStatsLayer[],
    private readonly forward: ForwardFn,
  ) {}

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    if (this.disposed) throw new ModelStateError(this.name, 'model used after dispose()');
    this.checkInput(x);
    // Pending statistics must describe exactly this call: drop leftovers from an earlier apply,
    // and do not leave a half-recorded set behind if the forward throws.
    if (training) this.discardRunningStats();
    try {
      if (training && fusedTrainingAvailable()) return this.fused.run(x, this.params.map((p) => p.variable), (input) => this.forward(input, true));
      return tf.tidy(() => this.forward(x, training));
    } catch (err) {
      if (training) this.discardRunningStats();
      throw err;
    }
  }

  updateRunningStats(): number {
    this.fused.release();
    let updated = 0;
    for (const layer of this.runningStatsLayers) if (layer.updateRunningStats()) updated++;
    return updated;
  }

  discardRunningStats(): void {
    this.fused.release();
    for (const layer of this.runningStatsLayers) layer.discardRunningStats();
  }

  get hasPendingRunningStats(): boolean {
    return this.runningStatsLayers.some((layer) => layer.hasPending);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.discardRunningStats();
    for (const p of this.params) p.variable.dispose();
    for (const b of this.buffers) b.variable.dispose();
  }

  private checkInput(x: tf.Tensor4D): void {
    const { channels, height, width } = this.input;
    const expected = `float32 [N,${height ?? 'H'},${width ?? 'W'},${channels}] (NHWC) with N ≥ 1`;
    const [n, h, w, c] = x.shape;
    const ok =
      x.dtype === 'float32' &&
      x.rank === 4 &&
      n !== undefined && n >= 1 &&
      c === channels &&
      (height === undefined || h === height) &&
      (width === undefined || w === width);
    if (!ok) throw new ModelInputError(this.name, expected, x.shape, x.dtype);
  }
}
