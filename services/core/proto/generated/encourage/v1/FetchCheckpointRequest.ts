// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface FetchCheckpointRequest {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
}

export interface FetchCheckpointRequest__Output {
  'workerId': (string);
  'generation': (number);
}
