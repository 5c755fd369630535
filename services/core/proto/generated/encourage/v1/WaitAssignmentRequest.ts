// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface WaitAssignmentRequest {
  'workerId'?: (string);
  'knownGeneration'?: (number | string | Long);
}

export interface WaitAssignmentRequest__Output {
  'workerId': (string);
  'knownGeneration': (number);
}
