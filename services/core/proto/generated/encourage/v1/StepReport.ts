// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface StepReport {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  'rank'?: (number);
  'step'?: (number | string | Long);
  'epoch'?: (number);
  'examples'?: (number);
  /**
   * Sums over the rank's batch: loss, base, bonus (batch mean × examples), correct predictions.
   */
  'lossSum'?: (number | string);
  'baseSum'?: (number | string);
  'bonusSum'?: (number | string);
  'correct'?: (number);
  /**
   * Confidence analytics (see services/worker/train/confidence.ts): per-bin counts and sums of
   * per-example logit-gradient norms, plus margin and p_y sums.
   */
  'binCounts'?: (number | string)[];
  'binGradNormSums'?: (number | string)[];
  'marginSum'?: (number | string);
  'pySum'?: (number | string);
  /**
   * Sampled every K steps (NaN when not sampled).
   */
  'paramGradNormHigh'?: (number | string);
  'paramGradNormLow'?: (number | string);
  'learningRate'?: (number | string);
  /**
   * Phase timings of this step on this rank; they add up to the step. The gradient is all-reduced
   * bucket by bucket while the device still computes (services/worker/train/replica.ts), so
   * compute_seconds runs until the last bucket reached the host and allreduce_seconds is only the
   * communication left after that ("exposed"); allreduce_total_seconds spans the first bucket's
   * all-reduce to the last one's end, hidden part included.
   */
  'dataSeconds'?: (number | string);
  'computeSeconds'?: (number | string);
  'allreduceSeconds'?: (number | string);
  'updateSeconds'?: (number | string);
  'allreduceBytes'?: (number | string | Long);
  /**
   * Sum of the dataset indices this rank trained on in the step: the coordinator checks it
   * against the plan, so sample accounting reflects what workers actually did.
   */
  'indexSum'?: (number | string);
  /**
   * A loss or gradient on some rank was NaN/Inf; the update was skipped on every rank.
   */
  'skipped'?: (boolean);
  'allreduceTotalSeconds'?: (number | string);
}

export interface StepReport__Output {
  'workerId': (string);
  'generation': (number);
  'rank': (number);
  'step': (number);
  'epoch': (number);
  'examples': (number);
  /**
   * Sums over the rank's batch: loss, base, bonus (batch mean × examples), correct predictions.
   */
  'lossSum': (number);
  'baseSum': (number);
  'bonusSum': (number);
  'correct': (number);
  /**
   * Confidence analytics (see services/worker/train/confidence.ts): per-bin counts and sums of
   * per-example logit-gradient norms, plus margin and p_y sums.
   */
  'binCounts': (number)[];
  'binGradNormSums': (number)[];
  'marginSum': (number);
  'pySum': (number);
  /**
   * Sampled every K steps (NaN when not sampled).
   */
  'paramGradNormHigh': (number);
  'paramGradNormLow': (number);
  'learningRate': (number);
  /**
   * Phase timings of this step on this rank; they add up to the step. The gradient is all-reduced
   * bucket by bucket while the device still computes (services/worker/train/replica.ts), so
   * compute_seconds runs until the last bucket reached the host and allreduce_seconds is only the
   * communication left after that ("exposed"); allreduce_total_seconds spans the first bucket's
   * all-reduce to the last one's end, hidden part included.
   */
  'dataSeconds': (number);
  'computeSeconds': (number);
  'allreduceSeconds': (number);
  'updateSeconds': (number);
  'allreduceBytes': (number);
  /**
   * Sum of the dataset indices this rank trained on in the step: the coordinator checks it
   * against the plan, so sample accounting reflects what workers actually did.
   */
  'indexSum': (number);
  /**
   * A loss or gradient on some rank was NaN/Inf; the update was skipped on every rank.
   */
  'skipped': (boolean);
  'allreduceTotalSeconds': (number);
}
