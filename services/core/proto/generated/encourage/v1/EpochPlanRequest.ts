// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface EpochPlanRequest {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  'epoch'?: (number);
}

export interface EpochPlanRequest__Output {
  'workerId': (string);
  'generation': (number);
  'epoch': (number);
}
