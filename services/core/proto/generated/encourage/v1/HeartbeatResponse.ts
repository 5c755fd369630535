// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatResponse {
  'generation'?: (number | string | Long);
  'finished'?: (boolean);
  /**
   * A membership change waits for the next step boundary (a worker joins or leaves, or the
   * coordinator stops): workers raise the flag they all-reduce with their gradients.
   */
  'rendezvousPending'?: (boolean);
  /**
   * A worker was lost: abandon the current step now and re-join.
   */
  'abort'?: (boolean);
}

export interface HeartbeatResponse__Output {
  'generation': (number);
  'finished': (boolean);
  /**
   * A membership change waits for the next step boundary (a worker joins or leaves, or the
   * coordinator stops): workers raise the flag they all-reduce with their gradients.
   */
  'rendezvousPending': (boolean);
  /**
   * A worker was lost: abandon the current step now and re-join.
   */
  'abort': (boolean);
}
