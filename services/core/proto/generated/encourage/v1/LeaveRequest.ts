// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface LeaveRequest {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  /**
   * "done" when the run finished for this worker; "shutdown" on SIGTERM.
   */
  'reason'?: (string);
}

export interface LeaveRequest__Output {
  'workerId': (string);
  'generation': (number);
  /**
   * "done" when the run finished for this worker; "shutdown" on SIGTERM.
   */
  'reason': (string);
}
