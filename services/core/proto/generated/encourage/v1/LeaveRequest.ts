// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface LeaveRequest {
  'workerId'?: (string);
  'generation'?: (number | string | Long);
  /**
   * "done" when the run finished for this worker; "shutdown" on SIGTERM; "nonfinite" when
   * the run stops on a NaN/Inf (--on-nonfinite stop).
   */
  'reason'?: (string);
  /**
   * Detail for "nonfinite": rank, step and tensor.
   */
  'detail'?: (string);
}

export interface LeaveRequest__Output {
  'workerId': (string);
  'generation': (number);
  /**
   * "done" when the run finished for this worker; "shutdown" on SIGTERM; "nonfinite" when
   * the run stops on a NaN/Inf (--on-nonfinite stop).
   */
  'reason': (string);
  /**
   * Detail for "nonfinite": rank, step and tensor.
   */
  'detail': (string);
}
