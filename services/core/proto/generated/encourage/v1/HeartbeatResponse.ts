// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatResponse {
  'generation'?: (number | string | Long);
  'finished'?: (boolean);
}

export interface HeartbeatResponse__Output {
  'generation': (number);
  'finished': (boolean);
}
