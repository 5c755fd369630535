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
   * Global step of the epoch's first step.
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
   * Global step of the epoch's first step.
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
}
