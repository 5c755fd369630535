// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface CheckpointAck {
  'step'?: (number | string | Long);
  'path'?: (string);
  'bytes'?: (number | string | Long);
}

export interface CheckpointAck__Output {
  'step': (number);
  'path': (string);
  'bytes': (number);
}
