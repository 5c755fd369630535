/**
 * One model replica and its training step — the one step that both the single-process trainer and
 * the distributed worker run (ARCHITECTURE.md, "The training step, on any backend").
 *
 * The step is asynchronous and its state stays where the backend computes: parameters, momentum
 * and BatchNorm buffers are device variables, SGD runs on the device (`DeviceSgd`), and nothing is
 * read synchronously (`dataSync` throws on a GPU tensor in Node's WebGPU). What crosses to the host
 * per step is only what must:
 * - distributed: the gradient as flat buckets in reverse layer order (`GradientBuckets`), each
 *   all-reduced as soon as it arrives, and the reduced buckets uploaded back;
 * - always: one batched read of the small analytics (loss parts, logits, logit gradients, and on
 *   sampled steps the high/low-confidence parameter-gradient norms).
 * A single-process step reads no gradients at all.
 */
import * as tf from '@tensorflow/tfjs';
import { encouragingLoss, type LossOptions } from '../../core/loss/index.js';
import { binOf } from '../../core/training/confidence.js';
import type { EvalSums } from '../../core/training/loss-sums.js';
import type { Model } from '../models/index.js';
import { DeviceSgd } from './device-sgd.js';
import { GradientBuckets } from './gradient-buckets.js';
import type { SgdOptions } from './sgd.js';
import { forwardBackward, highConfidenceSplit, type Gradients } from './step-graph.js';

export const IMAGE_SIDE = 32;
export const IMAGE_CHANNELS = 3;

/** Per-batch figures of a training step (sums, so ranks can add them). */
export interface StepStats {
  readonly examples: number;
  /** Batch-mean loss parts. */
  readonly loss: number;
  readonly base: number;
  readonly bonus: number;
  readonly correct: number;
  /** Logits and ∂L/∂logits (batch mean), row-major B×K, for the confidence analytics. */
  readonly logits: Float32Array;
  readonly gradLogits: Float32Array;
  readonly numClasses: number;
}

/** Parameter-gradient norms of the high-confidence examples and of the rest (same step). */
export interface ParamGradSplit {
  readonly high: number;
  readonly low: number;
  readonly highExamples: number;
}

/** One step's input. A distributed rank may have no examples in an epoch's uneven last step. */
export interface StepInput {
  /** NHWC float32 images, `labels.length` of them. */
  readonly x: Float32Array;
  readonly labels: Int32Array;
  readonly loss: LossOptions;
  /** 1-based, as the loss schedules expect. */
  readonly epoch: number;
  readonly lr: number;
  /** Sample the high/low-confidence parameter-gradient split at this p_y threshold (null: not this step). */
  readonly splitThreshold: number | null;
  /**
   * Benchmarks (ring steps only): skip the model and let the gradient buckets "arrive" spread
   * evenly over this many milliseconds, holding a fixed small gradient. A timer, not a busy loop:
   * a GPU computes while the host thread is free to move bytes, and a spinning JavaScript thread
   * would stall the very all-reduce whose overlap is being measured.
   */
  readonly simulatedComputeMs?: number;
}

/** How a distributed step sums gradients over the ring (absent in a single-process run). */
export interface GradientExchange {
  /** This rank's examples / batch size: the weight of its gradient in the global mean. */
  readonly share: number;
  /** Asked when the last bucket leaves: whether this rank wants the generation to end after this step. */
  leaving(): boolean;
  /**
   * Sum `buffer` over the ring, in place. Called once per bucket in bucket order, each call
   * without waiting for the previous one to resolve (operations are sequenced in call order).
   */
  allReduce(buffer: Float32Array): Promise<unknown>;
}

/** What the ring decided after the step's last bucket (the same on every rank). */
export interface RingDecision {
  /** Sum of the shares: the global batch in units of the batch size. */
  readonly total: number;
  /** Some rank had a NaN/Inf: nobody applied the update. */
  readonly skipped: boolean;
  /** Some rank asked to end the generation after this step. */
  readonly boundary: boolean;
}

/** Seconds of the step's phases (all measured on this rank). */
export interface StepTiming {
  /** Forward and backward until the whole gradient was on the host (distributed) or the step was recorded (single). */
  readonly computeSeconds: number;
  /** From the first bucket's all-reduce to the last one's end. */
  readonly allreduceSeconds: number;
  /** Of that, the part after this rank's last bucket arrived: communication not hidden behind compute. */
  readonly exposedAllreduceSeconds: number;
  /** Upload of the reduced gradient, SGD, BatchNorm statistics and the analytics read. */
  readonly updateSeconds: number;
}

export interface StepResult {
  /** Null when this rank had no examples. */
  readonly stats: StepStats | null;
  readonly split: ParamGradSplit | null;
  /** Parameter (or `loss`) holding this rank's first NaN/Inf, found before the all-reduce; distributed steps only. */
  readonly nonFinite: string | null;
  /** Null in a single-process step. */
  readonly decision: RingDecision | null;
  /** Whether the update was applied (false when the ring skipped the step). */
  readonly applied: boolean;
  readonly timing: StepTiming;
}

/**
 * Where the three control values (generation-trainer.ts explains them) ride: this rank's share
 * after the first bucket's gradient — reduced first, so the sum of the shares is known in time to
 * average every later bucket as it arrives — and the NaN and leave flags after the last bucket's,
 * once this rank has seen its whole gradient. (One bucket carries all three.)
 */
function controlSlots(b: number, last: number, size: number): { share: number | null; flags: number | null } {
  return { share: b === 0 ? size : null, flags: b === last ? size + (b === 0 ? 1 : 0) : null };
}

export class Replica {
  readonly sgd: DeviceSgd;
  readonly buckets: GradientBuckets;
  /** Host buffers of the buckets, reused every step; the first and the last carry the control values (controlSlots). */
  private readonly hostBuckets: Float32Array[];

  /**
   * @param bucketCapacity most gradient elements per all-reduce bucket (see gradient-buckets.ts).
   */
  constructor(
    readonly model: Model,
    sgdOptions: SgdOptions,
    bucketCapacity = Number.MAX_SAFE_INTEGER,
  ) {
    this.sgd = new DeviceSgd(model.params, sgdOptions);
    this.buckets = new GradientBuckets(model.params, bucketCapacity);
    const last = this.buckets.buckets.length - 1;
    this.hostBuckets = this.buckets.buckets.map((b, i) => new Float32Array(b.size + (i === 0 ? 1 : 0) + (i === last ? 2 : 0)));
  }

  /**
   * One training step: forward, encouraging loss, backward, (all-reduce,) SGD and BatchNorm's
   * running statistics. With an `exchange` the gradient is summed over the ring and the update
   * uses the global mean (or is skipped on every rank when any rank had a NaN/Inf).
   * On error (e.g. a failed all-reduce) nothing is applied and every device tensor is released.
   */
  async step(input: StepInput, exchange: GradientExchange | null = null): Promise<StepResult> {
    const t0 = performance.now();
    const n = input.labels.length;
    const simulated = input.simulatedComputeMs ?? 0;
    if (n === 0 && exchange === null) throw new RangeError('a single-process step needs at least one example');
    if (simulated > 0 && exchange === null) throw new RangeError('simulated compute is for ring steps (benchmarks of the all-reduce)');
    const g: Gradients | null = n === 0 || simulated > 0 ? null : forwardBackward(this.model, input);
    const owned: tf.Tensor[] = g === null ? [] : [...g.grads, g.loss, g.base, g.bonus, g.logits, g.gradLogits];
    try {
      if (exchange === null) return await this.localStep(input, g!, t0);
      return await this.ringStep(input, g, exchange, t0, owned);
    } catch (err) {
      this.model.discardRunningStats();
      throw err;
    } finally {
      tf.dispose(owned);
    }
  }

  private async localStep(input: StepInput, g: Gradients, t0: number): Promise<StepResult> {
    const analytics = this.analytics(input, g);
    this.sgd.step(g.grads, input.lr);
    this.model.updateRunningStats();
    const t1 = performance.now();
    const { stats, split } = await analytics;
    const t2 = performance.now();
    return {
      stats, split, nonFinite: null, decision: null, applied: true,
      timing: { computeSeconds: (t1 - t0) / 1000, allreduceSeconds: 0, exposedAllreduceSeconds: 0, updateSeconds: (t2 - t1) / 1000 },
    };
  }

  private async ringStep(input: StepInput, g: Gradients | null, exchange: GradientExchange, t0: number, owned: tf.Tensor[]): Promise<StepResult> {
    const layout = this.buckets.buckets;
    const last = layout.length - 1;
    // Issue every bucket's read first, in bucket order: the device works through its queue in
    // that order, so the last layers' gradient reaches the host (and the ring) first.
    const simulated = input.simulatedComputeMs ?? 0;
    const reads = layout.map((bucket, b) => {
      if (simulated > 0) return simulatedBucket(bucket.size + (b === last ? 1 : 0), t0 + (simulated * (b + 1)) / layout.length);
      if (g === null) return Promise.resolve(null);
      const flat = this.buckets.gather(b, g.grads, b === last ? [g.loss] : []);
      owned.push(flat);
      return flat.data() as Promise<Float32Array>;
    });
    const analytics = g === null ? Promise.resolve({ stats: null, split: null }) : this.analytics(input, g);
    // Handled at once: if an all-reduce fails first, this step throws before awaiting these.
    analytics.catch(() => undefined);
    for (const r of reads) r.catch(() => undefined);
    const failure: { error?: unknown; failed: boolean } = { failed: false };
    const reduced: tf.Tensor[] = new Array<tf.Tensor>(this.model.params.length);
    let nonFinite: string | null = null;
    let firstSent = 0;
    let lastArrived = t0;
    let lastReduced = t0;
    let first: Promise<number> | null = null;
    const uploads: Array<Promise<void>> = [];
    try {
      for (const [b, bucket] of layout.entries()) {
        const host = this.hostBuckets[b]!;
        const values = await reads[b]!;
        if (failure.failed) throw failure.error;
        if (values === null) host.fill(0, 0, bucket.size);
        else {
          host.set(values.subarray(0, bucket.size));
          nonFinite ??= this.buckets.nonFinite(b, host);
          if (b === last && !Number.isFinite(values[bucket.size]!)) nonFinite ??= 'loss';
          if (exchange.share !== 1) for (let k = 0; k < bucket.size; k++) host[k]! *= exchange.share;
        }
        const control = controlSlots(b, last, bucket.size);
        if (control.share !== null) host[control.share] = exchange.share;
        if (control.flags !== null) {
          host[control.flags] = nonFinite === null ? 0 : 1;
          host[control.flags + 1] = exchange.leaving() ? 1 : 0;
        }
        lastArrived = performance.now();
        if (b === 0) firstSent = lastArrived;
        const reduction = exchange.allReduce(host).then(() => void (lastReduced = performance.now()));
        reduction.catch((error: unknown) => {
          if (!failure.failed) Object.assign(failure, { error, failed: true });
        });
        // The first bucket carries the shares: once it is reduced every bucket can be averaged and
        // uploaded as it arrives, while later ones are still on the wire.
        first ??= reduction.then(() => this.hostBuckets[0]![controlSlots(0, last, layout[0]!.size).share!]!);
        const upload = Promise.all([first, reduction]).then(([total]) => this.upload(b, total, reduced));
        upload.catch(() => undefined);
        uploads.push(upload);
      }
      await Promise.all(uploads);
      const lastBucket = this.hostBuckets[last]!;
      const flags = controlSlots(last, last, layout[last]!.size).flags!;
      const total = await first!;
      const decision: RingDecision = { total, skipped: lastBucket[flags]! > 0, boundary: lastBucket[flags + 1]! > 0 };
      // A global batch of no examples has no mean to apply (the planner never makes one; 0/0 must not reach the weights).
      const apply = !decision.skipped && decision.total > 0;
      if (apply) {
        this.sgd.step(reduced, input.lr);
        this.model.updateRunningStats();
      } else this.model.discardRunningStats();
      const { stats, split } = await analytics;
      const t3 = performance.now();
      return {
        stats, split, nonFinite, decision, applied: apply,
        timing: {
          computeSeconds: (lastArrived - t0) / 1000,
          allreduceSeconds: (lastReduced - firstSent) / 1000,
          exposedAllreduceSeconds: Math.max(0, lastReduced - lastArrived) / 1000,
          updateSeconds: (t3 - lastReduced) / 1000,
        },
      };
    } finally {
      await Promise.allSettled(uploads);
      tf.dispose(reduced.filter((t) => t !== undefined));
    }
  }

  /** Average a reduced host bucket over the global batch and upload it as gradients shaped like the parameters. */
  private upload(b: number, total: number, into: tf.Tensor[]): void {
    const bucket = this.buckets.buckets[b]!;
    const host = this.hostBuckets[b]!;
    if (total > 0) for (let k = 0; k < bucket.size; k++) host[k]! /= total;
    for (const [param, t] of this.buckets.scatter(b, host)) into[param] = t;
  }

  /** One batched read of the step's small figures (and, when sampled, the split norms). */
  private async analytics(input: StepInput, g: Gradients): Promise<{ stats: StepStats; split: ParamGradSplit | null }> {
    const n = input.labels.length;
    const k = g.logits.shape[1];
    const packed = tf.tidy(() => {
      const split = input.splitThreshold === null ? [] : highConfidenceSplit(this.model, input, g, input.splitThreshold);
      return tf.concat([g.loss, g.base, g.bonus, ...split, g.logits, g.gradLogits].map((t) => t.reshape([-1])));
    });
    let data: Float32Array;
    try {
      data = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
    const head = input.splitThreshold === null ? 3 : 6;
    const logits = data.slice(head, head + n * k);
    const split = input.splitThreshold === null ? null : { high: Math.sqrt(data[3]!), low: Math.sqrt(data[4]!), highExamples: Math.round(data[5]!) };
    return {
      stats: {
        examples: n, loss: data[0]!, base: data[1]!, bonus: data[2]!, correct: countCorrect(logits, input.labels, k),
        logits, gradLogits: data.slice(head + n * k, head + 2 * n * k), numClasses: k,
      },
      split,
    };
  }

  /** Drop BatchNorm statistics a failed or abandoned step left pending. */
  abandonStep(): void {
    this.model.discardRunningStats();
  }

  /** Evaluation pass over one batch (running statistics, no bonus in the loss), added to `sums`. */
  async evaluateBatch(x: Float32Array, labels: Int32Array, loss: LossOptions, epoch: number, edges: readonly number[], sums: EvalSums): Promise<void> {
    const batch = labels.length;
    const packed = tf.tidy(() => {
      const logits = this.model.apply(tf.tensor4d(x, [batch, IMAGE_SIDE, IMAGE_SIDE, IMAGE_CHANNELS]), false);
      const parts = encouragingLossParts(logits, labels, loss, epoch);
      return tf.concat([...parts, logits.reshape([-1])]);
    });
    let out: Float32Array;
    try {
      out = (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
    const k = (out.length - 3) / batch;
    const data = out.subarray(3);
    sums.examples += batch;
    sums.lossSum += out[0]! * batch;
    sums.baseSum += out[1]! * batch;
    sums.bonusSum += out[2]! * batch;
    for (let i = 0; i < batch; i++) {
      const pred = argmax(data, i, k);
      const ok = pred === labels[i] ? 1 : 0;
      sums.correct += ok;
      const bin = binOf(edges, probabilityOfLabel(data, i, pred, k));
      sums.binExamples[bin] = (sums.binExamples[bin] ?? 0) + 1;
      sums.binCorrect[bin] = (sums.binCorrect[bin] ?? 0) + ok;
    }
  }

  /**
   * Resolves once the device has finished all work recorded so far: a step resolves when its
   * analytics are read, while its update may still be queued behind them (benchmarks, shutdown).
   */
  async settle(): Promise<void> {
    // The device runs its queue in order, so a read queued now completes after everything before it.
    const probe = tf.tidy(() => tf.slice(this.model.params[0]!.variable.reshape([-1]), 0, 1));
    try {
      await probe.data();
    } finally {
      probe.dispose();
    }
  }

  /** Release the optimizer state and the model. */
  dispose(): void {
    this.sgd.dispose();
    this.model.dispose();
  }
}

function encouragingLossParts(logits: tf.Tensor2D, labels: Int32Array, loss: LossOptions, epoch: number): tf.Tensor1D[] {
  const parts = encouragingLoss(logits, tf.tensor1d(labels, 'int32'), loss, { epoch, training: false });
  return [parts.loss, parts.base, parts.bonus].map((t) => t.reshape([1]) as tf.Tensor1D);
}

function argmax(data: Float32Array, row: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (data[row * k + j]! > data[row * k + best]!) best = j;
  return best;
}

function countCorrect(data: Float32Array, labels: Int32Array, k: number): number {
  let n = 0;
  for (let i = 0; i < labels.length; i++) if (argmax(data, i, k) === labels[i]) n++;
  return n;
}

/** The gradient every simulated bucket holds (small, so that weights barely move over a benchmark). */
export const SIMULATED_GRADIENT = 1e-4;

/** A bucket of SIMULATED_GRADIENT (loss slot 0) that "arrives" at `readyAtMs` (performance.now() time). */
async function simulatedBucket(length: number, readyAtMs: number): Promise<Float32Array> {
  const wait = readyAtMs - performance.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  return new Float32Array(length).fill(SIMULATED_GRADIENT);
}

/** softmax(logits row)[cls], computed stably in float64. */
export function probabilityOfLabel(data: Float32Array, row: number, cls: number, k: number): number {
  let max = -Infinity;
  for (let j = 0; j < k; j++) max = Math.max(max, data[row * k + j]!);
  let z = 0;
  for (let j = 0; j < k; j++) z += Math.exp(data[row * k + j]! - max);
  return Math.exp(data[row * k + cls]! - max) / z;
}
