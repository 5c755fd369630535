/**
 * Learning-rate schedules of the standard CIFAR recipes, evaluated per step so that warm-up is
 * smooth: linear warm-up (Goyal et al. 2017, "Accurate, Large Minibatch SGD", §2.2) followed by
 * cosine annealing to 0 (as kuangliu/pytorch-cifar's CosineAnnealingLR over the run), step decay
 * by 10× at 50% and 75% of the epochs (He et al. 2016), or a constant rate.
 */
export const LR_SCHEDULES = ['cosine', 'multistep', 'constant'] as const;
export type LrScheduleKind = (typeof LR_SCHEDULES)[number];

/** Milestones of the multistep schedule, as fractions of the run. */
export const MULTISTEP_MILESTONES = [0.5, 0.75] as const;
/** Decay factor at each multistep milestone. */
export const MULTISTEP_GAMMA = 0.1;

export interface LrScheduleOptions {
  readonly kind: LrScheduleKind;
  /** Peak learning rate (after warm-up). */
  readonly baseLr: number;
  readonly epochs: number;
  readonly warmupEpochs: number;
  readonly stepsPerEpoch: number;
}

/**
 * Learning rate for the optimizer step that starts at `globalStep` (0-based; epoch e covers
 * steps [e·stepsPerEpoch, (e+1)·stepsPerEpoch)).
 */
export function learningRate(o: LrScheduleOptions, globalStep: number): number {
  return lrAtProgress(o, globalStep / o.stepsPerEpoch, (globalStep + 1) / o.stepsPerEpoch);
}

/**
 * Learning rate of a step measured in samples rather than steps: the step covers samples
 * [offset, offset + stepSamples) of the run's sample stream (`epochSamples` per epoch). Elastic
 * runs use this form because the number of steps per epoch changes with the world size while the
 * schedule must follow the fraction of data seen; for equal steps it equals {@link learningRate}
 * up to float rounding.
 */
export function learningRateForSamples(o: Omit<LrScheduleOptions, 'stepsPerEpoch'>, epochSamples: number, offset: number, stepSamples: number): number {
  return lrAtProgress(o, offset / epochSamples, (offset + stepSamples) / epochSamples);
}

/**
 * The schedule at `progressEpochs` (fractional epochs before the step); warm-up ramps linearly
 * to the progress at the step's end, so the first step never has a zero rate.
 */
function lrAtProgress(o: Omit<LrScheduleOptions, 'stepsPerEpoch'>, progressEpochs: number, endProgressEpochs: number): number {
  if (o.warmupEpochs > 0 && progressEpochs < o.warmupEpochs) return (o.baseLr * endProgressEpochs) / o.warmupEpochs;
  switch (o.kind) {
    case 'constant':
      return o.baseLr;
    case 'multistep': {
      const passed = MULTISTEP_MILESTONES.filter((m) => Math.floor(progressEpochs) >= Math.round(m * o.epochs)).length;
      return o.baseLr * MULTISTEP_GAMMA ** passed;
    }
    case 'cosine': {
      const span = Math.max(o.epochs - o.warmupEpochs, 1e-9);
      const t = Math.min(Math.max((progressEpochs - o.warmupEpochs) / span, 0), 1);
      return 0.5 * o.baseLr * (1 + Math.cos(Math.PI * t));
    }
  }
}

/**
 * The linear scaling rule (Goyal et al. 2017 §2.1): when the global batch grows k-fold, multiply
 * the learning rate by k. `referenceBatch` is the batch the base LR was tuned for.
 */
export function scaleLearningRate(lr: number, globalBatch: number, referenceBatch: number): number {
  return (lr * globalBatch) / referenceBatch;
}
