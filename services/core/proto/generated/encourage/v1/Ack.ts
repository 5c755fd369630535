// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface Ack {
  'generation'?: (number | string | Long);
}

export interface Ack__Output {
  'generation': (number);
}
