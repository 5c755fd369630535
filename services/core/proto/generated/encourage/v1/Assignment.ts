// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface Assignment {
  'generation'?: (number | string | Long);
  /**
   * False while the rendezvous is still waiting for workers.
   */
  'assigned'?: (boolean);
  'rank'?: (number);
  'worldSize'?: (number);
  /**
   * Collective addresses in ring order; index = rank.
   */
  'ring'?: (string)[];
  /**
   * Where training (re)starts: 0-based epoch, samples of that epoch already committed, global step.
   */
  'startEpoch'?: (number);
  'startStep'?: (number | string | Long);
  /**
   * True when the worker should load the replica state from the latest checkpoint before training
   * (otherwise rank 0 broadcasts its freshly initialised weights).
   */
  'restoreFromCheckpoint'?: (boolean);
  /**
   * Set when the run has finished; the worker exits.
   */
  'finished'?: (boolean);
}

export interface Assignment__Output {
  'generation': (number);
  /**
   * False while the rendezvous is still waiting for workers.
   */
  'assigned': (boolean);
  'rank': (number);
  'worldSize': (number);
  /**
   * Collective addresses in ring order; index = rank.
   */
  'ring': (string)[];
  /**
   * Where training (re)starts: 0-based epoch, samples of that epoch already committed, global step.
   */
  'startEpoch': (number);
  'startStep': (number);
  /**
   * True when the worker should load the replica state from the latest checkpoint before training
   * (otherwise rank 0 broadcasts its freshly initialised weights).
   */
  'restoreFromCheckpoint': (boolean);
  /**
   * Set when the run has finished; the worker exits.
   */
  'finished': (boolean);
}
