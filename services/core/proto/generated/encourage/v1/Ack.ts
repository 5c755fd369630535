// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface Ack {
  'generation'?: (number | string | Long);
  /**
   * As in HeartbeatResponse, so that workers learn of a membership change within a step.
   */
  'rendezvousPending'?: (boolean);
  'abort'?: (boolean);
}

export interface Ack__Output {
  'generation': (number);
  /**
   * As in HeartbeatResponse, so that workers learn of a membership change within a step.
   */
  'rendezvousPending': (boolean);
  'abort': (boolean);
}
