// Original file: encourage/v1/coordinator.proto

import type { WorkerInfo as _encourage_v1_WorkerInfo, WorkerInfo__Output as _encourage_v1_WorkerInfo__Output } from '../../encourage/v1/WorkerInfo.js';

export interface RegisterRequest {
  'worker'?: (_encourage_v1_WorkerInfo | null);
  /**
   * Shared secret of the run (empty when the run has none).
   */
  'joinToken'?: (string);
}

export interface RegisterRequest__Output {
  'worker': (_encourage_v1_WorkerInfo__Output | null);
  /**
   * Shared secret of the run (empty when the run has none).
   */
  'joinToken': (string);
}
