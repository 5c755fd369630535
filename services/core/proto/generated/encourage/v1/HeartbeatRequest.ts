// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatRequest {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  'step'?: (number | string | Long);
}

export interface HeartbeatRequest__Output {
  'workerId': (string);
  'generation': (number);
  'step': (number);
}
