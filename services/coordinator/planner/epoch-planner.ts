/**
 * Per-epoch plans: which samples each rank trains on and at which learning rates. The coordinator
 * owns the data order and the schedule (as torchrun's agent owns the rendezvous and PyTorch's
 * DistributedSampler the order), so workers hold no schedule state that could drift apart.
 */
import { batchesPerEpoch } from '../../core/training/batch-iterator.js';
import { DistributedSampler } from '../../core/training/distributed-sampler.js';
import { learningRate, scaleLearningRate } from '../../core/training/lr-schedule.js';
import type { TrainConfig } from '../../core/training/train-config.js';

export interface PlanContext {
  readonly config: TrainConfig;
  readonly trainSize: number;
  readonly testSize: number;
  readonly worldSize: number;
}

export interface RankPlan {
  readonly epoch: number;
  readonly trainIndices: Int32Array;
  readonly learningRates: Float64Array;
  readonly firstStep: number;
  readonly evalIndices: Int32Array;
  readonly evaluate: boolean;
  readonly checkpointAtEnd: boolean;
}

/** Steps every rank takes per epoch: equal on all ranks (the sampler pads shards to equal size). */
export function stepsPerEpoch(ctx: PlanContext): number {
  const perRank = Math.ceil(ctx.trainSize / ctx.worldSize);
  const full = batchesPerEpoch(perRank, ctx.config.batchSize);
  return ctx.config.maxStepsPerEpoch > 0 ? Math.min(full, ctx.config.maxStepsPerEpoch) : full;
}

/**
 * Peak learning rate for the run: with `lrScaling: linear` the LR grows with the *global* batch
 * (per-worker batch × workers), the linear scaling rule of Goyal et al. 2017.
 */
export function peakLearningRate(ctx: PlanContext): number {
  const c = ctx.config;
  return c.lrScaling === 'linear' ? scaleLearningRate(c.lr, c.batchSize * ctx.worldSize, c.lrReferenceBatch) : c.lr;
}

/** Whether the test set is evaluated after `epoch` (0-based). */
export function evaluatesAfter(config: TrainConfig, epoch: number): boolean {
  return (epoch + 1) % config.evalEvery === 0 || epoch + 1 === config.epochs;
}

/** The plan of `rank` for `epoch` (0-based). */
export function planEpoch(ctx: PlanContext, epoch: number, rank: number): RankPlan {
  const c = ctx.config;
  const sampler = new DistributedSampler({ size: ctx.trainSize, rank, worldSize: ctx.worldSize, shuffle: true, seed: c.seed });
  sampler.setEpoch(epoch);
  const steps = stepsPerEpoch(ctx);
  const trainIndices = sampler.indices().slice(0, steps * c.batchSize);
  const firstStep = epoch * steps;
  const peak = peakLearningRate(ctx);
  const learningRates = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    learningRates[i] = learningRate({ kind: c.schedule, baseLr: peak, epochs: c.epochs, warmupEpochs: c.warmupEpochs, stepsPerEpoch: steps }, firstStep + i);
  }
  let evalIndices = new Int32Array(0);
  const evaluate = evaluatesAfter(c, epoch);
  if (evaluate) {
    // Strided split without padding, so every test image is counted exactly once.
    const mine: number[] = [];
    for (let i = rank; i < ctx.testSize; i += ctx.worldSize) mine.push(i);
    evalIndices = Int32Array.from(mine);
  }
  return { epoch, trainIndices, learningRates, firstStep, evalIndices, evaluate, checkpointAtEnd: true };
}
