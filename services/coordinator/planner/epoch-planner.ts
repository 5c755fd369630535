/**
 * Plans: which samples each rank trains on and at which learning rates. The coordinator owns the
 * data order and the schedule (as torchrun's agent owns the rendezvous and PyTorch's
 * DistributedSampler the order), so workers hold no schedule state that could drift apart.
 *
 * Every epoch has one global sample order (a seeded permutation). A step consumes the next
 * `worldSize × batchSize` positions of it, and rank r takes every worldSize-th of them starting at
 * r — exactly DistributedSampler's shards when the ring never changes. Because a step always
 * consumes a contiguous block of the order, an elastic run can stop at any step boundary and
 * re-shard the *rest* of the epoch over a new ring: a plan is "the epoch from `position` on, for
 * this world size" (TorchElastic / elastic Horovod semantics; samples are never padded or
 * repeated, so each position is committed exactly once per epoch). The epoch's last step may be
 * smaller; its remainder is split as evenly as possible (ranks weight their gradients by their
 * example counts, so the update is the mean over the global batch).
 */
import { DistributedSampler } from '../../core/training/distributed-sampler.js';
import { learningRateForSamples, scaleLearningRate } from '../../core/training/lr-schedule.js';
import type { TrainConfig } from '../../core/training/train-config.js';

export interface PlanContext {
  readonly config: TrainConfig;
  readonly trainSize: number;
  readonly testSize: number;
  /** Samples per epoch: the training set, or fewer with `maxStepsPerEpoch` (fixed for the run). */
  readonly epochSamples: number;
}

/** Where a generation's training starts: global step, 0-based epoch and position in its order. */
export interface Cursor {
  readonly step: number;
  readonly epoch: number;
  readonly position: number;
}

export interface RankPlan {
  readonly epoch: number;
  readonly startPosition: number;
  readonly trainIndices: Int32Array;
  /** This rank's examples per step (offsets into trainIndices are the running sums). */
  readonly stepExamples: Int32Array;
  readonly learningRates: Float64Array;
  readonly firstStep: number;
  readonly evalIndices: Int32Array;
  readonly evaluate: boolean;
  readonly checkpointAtEnd: boolean;
}

/** Samples per epoch for a run whose first ring has `worldSize` ranks. */
export function epochSamplesFor(config: TrainConfig, trainSize: number, worldSize: number): number {
  return config.maxStepsPerEpoch > 0 ? Math.min(trainSize, config.maxStepsPerEpoch * config.batchSize * worldSize) : trainSize;
}

/** Positions consumed by the step that starts at `position`. */
export function stepSpan(ctx: PlanContext, position: number, worldSize: number): number {
  return Math.max(0, Math.min(worldSize * ctx.config.batchSize, ctx.epochSamples - position));
}

/** How many of a step's `span` positions fall to `rank` (t ≡ rank mod worldSize, t < span). */
export function rankExamples(span: number, worldSize: number, rank: number): number {
  return rank < span ? Math.floor((span - 1 - rank) / worldSize) + 1 : 0;
}

/** Steps from `position` to the end of the epoch. */
export function stepsToEpochEnd(ctx: PlanContext, position: number, worldSize: number): number {
  return Math.ceil(Math.max(0, ctx.epochSamples - position) / (worldSize * ctx.config.batchSize));
}

/** Steps of a whole epoch for a ring of `worldSize` (for progress displays). */
export function stepsPerEpoch(ctx: PlanContext, worldSize: number): number {
  return stepsToEpochEnd(ctx, 0, worldSize);
}

/**
 * Peak learning rate for a ring: with `lrScaling: linear` the LR grows with the *global* batch
 * (per-worker batch × workers), the linear scaling rule of Goyal et al. 2017 — so it changes
 * when an elastic ring changes size.
 */
export function peakLearningRate(config: TrainConfig, worldSize: number): number {
  return config.lrScaling === 'linear' ? scaleLearningRate(config.lr, config.batchSize * worldSize, config.lrReferenceBatch) : config.lr;
}

/** Whether the test set is evaluated after `epoch` (0-based). */
export function evaluatesAfter(config: TrainConfig, epoch: number): boolean {
  return (epoch + 1) % config.evalEvery === 0 || epoch + 1 === config.epochs;
}

/** The epoch's global sample order (identical on every rank and after every restart). */
export function epochOrder(ctx: PlanContext, epoch: number): Int32Array {
  const sampler = new DistributedSampler({ size: ctx.trainSize, rank: 0, worldSize: 1, shuffle: true, seed: ctx.config.seed });
  sampler.setEpoch(epoch);
  return sampler.indices().subarray(0, ctx.epochSamples);
}

/**
 * The cursor after `steps` more steps from `from` on a ring of `worldSize`. An epoch whose
 * training is complete but not yet closed (evaluated) sits at position = epochSamples; the next
 * step begins the following epoch at position 0.
 */
export function advance(ctx: PlanContext, from: Cursor, worldSize: number, steps: number): Cursor {
  let { step, epoch, position } = from;
  for (let i = 0; i < steps; i++) {
    if (position >= ctx.epochSamples) {
      epoch++;
      position = 0;
    }
    position += stepSpan(ctx, position, worldSize);
    step++;
  }
  return { step, epoch, position };
}

/** Where `epoch` starts within a generation that began at `start` (its position and first step). */
export function epochStart(ctx: PlanContext, start: Cursor, worldSize: number, epoch: number): Cursor {
  if (epoch < start.epoch) throw new RangeError(`epoch ${epoch} precedes the generation's first epoch ${start.epoch}`);
  if (epoch === start.epoch) return start;
  let step = start.step + stepsToEpochEnd(ctx, start.position, worldSize);
  for (let e = start.epoch + 1; e < epoch; e++) step += stepsPerEpoch(ctx, worldSize);
  return { step, epoch, position: 0 };
}

/** The plan of `rank` for the part of `epoch` that starts at `start` (see {@link epochStart}). */
export function planEpoch(ctx: PlanContext, start: Cursor, worldSize: number, rank: number): RankPlan {
  const c = ctx.config;
  const order = epochOrder(ctx, start.epoch);
  const steps = stepsToEpochEnd(ctx, start.position, worldSize);
  const stepExamples = new Int32Array(steps);
  const learningRates = new Float64Array(steps);
  const peak = peakLearningRate(c, worldSize);
  const mine: number[] = [];
  for (let i = 0, p = start.position; i < steps; i++) {
    const span = stepSpan(ctx, p, worldSize);
    for (let t = rank; t < span; t += worldSize) mine.push(order[p + t]!);
    stepExamples[i] = rankExamples(span, worldSize, rank);
    learningRates[i] = learningRateForSamples({ kind: c.schedule, baseLr: peak, epochs: c.epochs, warmupEpochs: c.warmupEpochs }, ctx.epochSamples, start.epoch * ctx.epochSamples + p, span);
    p += span;
  }
  let evalIndices = new Int32Array(0);
  const evaluate = evaluatesAfter(c, start.epoch);
  if (evaluate) {
    // Strided split without padding, so every test image is counted exactly once.
    const list: number[] = [];
    for (let i = rank; i < ctx.testSize; i += worldSize) list.push(i);
    evalIndices = Int32Array.from(list);
  }
  return {
    epoch: start.epoch, startPosition: start.position, trainIndices: Int32Array.from(mine), stepExamples, learningRates,
    firstStep: start.step, evalIndices, evaluate, checkpointAtEnd: true,
  };
}

/** Sum of the dataset indices `rank` trains on in the step at `position` (the report check). */
export function stepIndexSum(order: Int32Array, ctx: PlanContext, position: number, worldSize: number, rank: number): number {
  const span = stepSpan(ctx, position, worldSize);
  let sum = 0;
  for (let t = rank; t < span; t += worldSize) sum += order[position + t]!;
  return sum;
}
