// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface EpochPlan {
  'generation'?: (number | string | Long);
  'epoch'?: (number);
  /**
   * This rank's training sample indices for the epoch, int32 little-endian.
   */
  'trainIndices'?: (Buffer | Uint8Array | string);
  'batchSize'?: (number);
  /**
   * Learning rate of each of the epoch's steps, in order (float64 little-endian).
   */
  'learningRates'?: (Buffer | Uint8Array | string);
  /**
   * Global step of the plan's first step.
   */
  'firstStep'?: (number | string | Long);
  /**
   * This rank's part of the test set, int32 little-endian (empty: no evaluation this epoch).
   */
  'evalIndices'?: (Buffer | Uint8Array | string);
  /**
   * Whether rank 0 uploads a checkpoint at the end of this epoch.
   */
  'checkpointAtEnd'?: (boolean);
  /**
   * Whether ranks evaluate (and report their parameter digests) after this epoch.
   */
  'evaluate'?: (boolean);
  /**
   * Position in the epoch's sample order where this plan starts (0 unless the ring changed
   * mid-epoch); the plan covers the rest of the epoch.
   */
  'startPosition'?: (number | string | Long);
  /**
   * This rank's examples in each step (int32 little-endian); equal to batch_size except in an
   * epoch's last step, where the remainder is split as evenly as possible.
   */
  'stepExamples'?: (Buffer | Uint8Array | string);
  /**
   * Samples in one epoch (the training set, or fewer with max_steps_per_epoch).
   */
  'epochSamples'?: (number | string | Long);
}

export interface EpochPlan__Output {
  'generation': (number);
  'epoch': (number);
  /**
   * This rank's training sample indices for the epoch, int32 little-endian.
   */
  'trainIndices': (Buffer);
  'batchSize': (number);
  /**
   * Learning rate of each of the epoch's steps, in order (float64 little-endian).
   */
  'learningRates': (Buffer);
  /**
   * Global step of the plan's first step.
   */
  'firstStep': (number);
  /**
   * This rank's part of the test set, int32 little-endian (empty: no evaluation this epoch).
   */
  'evalIndices': (Buffer);
  /**
   * Whether rank 0 uploads a checkpoint at the end of this epoch.
   */
  'checkpointAtEnd': (boolean);
  /**
   * Whether ranks evaluate (and report their parameter digests) after this epoch.
   */
  'evaluate': (boolean);
  /**
   * Position in the epoch's sample order where this plan starts (0 unless the ring changed
   * mid-epoch); the plan covers the rest of the epoch.
   */
  'startPosition': (number);
  /**
   * This rank's examples in each step (int32 little-endian); equal to batch_size except in an
   * epoch's last step, where the remainder is split as evenly as possible.
   */
  'stepExamples': (Buffer);
  /**
   * Samples in one epoch (the training set, or fewer with max_steps_per_epoch).
   */
  'epochSamples': (number);
}
