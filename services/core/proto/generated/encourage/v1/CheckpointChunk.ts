// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface CheckpointChunk {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  'step'?: (number | string | Long);
  /**
   * Byte offset of `data` in the encoded checkpoint; chunks arrive in order.
   */
  'offset'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  /**
   * Total size of the encoded checkpoint (on every chunk, so the receiver can bound its buffer).
   */
  'totalBytes'?: (number | string | Long);
}

export interface CheckpointChunk__Output {
  'workerId': (string);
  'generation': (number);
  'step': (number);
  /**
   * Byte offset of `data` in the encoded checkpoint; chunks arrive in order.
   */
  'offset': (number);
  'data': (Buffer);
  /**
   * Total size of the encoded checkpoint (on every chunk, so the receiver can bound its buffer).
   */
  'totalBytes': (number);
}
