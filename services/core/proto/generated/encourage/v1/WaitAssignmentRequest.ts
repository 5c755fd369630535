// Original file: encourage/v1/coordinator.proto

import type { Long } from '@grpc/proto-loader';

export interface WaitAssignmentRequest {
  'workerId'?: (string);
  'knownGeneration'?: (number | string | Long);
  /**
   * Global step of the replica state this worker holds in memory (-1: none, e.g. a new worker).
   * A ranked worker that asks with known_generation = the current generation is re-joining: the
   * coordinator opens a re-rendezvous (TorchElastic semantics) and resumes from the most advanced
   * state any re-joining worker holds.
   */
  'appliedStep'?: (number | string | Long);
  /**
   * Why the worker re-joins (logged): "peer-failure", "membership-change", "coordinator-lost", ...
   */
  'reason'?: (string);
  /**
   * Collective address of the peer whose failure ended the step (empty: unknown). When rings keep
   * failing without progress — a partition between workers that all still reach the coordinator —
   * the coordinator evicts the most-suspected member instead of re-forming the same ring forever.
   */
  'suspect'?: (string);
}

export interface WaitAssignmentRequest__Output {
  'workerId': (string);
  'knownGeneration': (number);
  /**
   * Global step of the replica state this worker holds in memory (-1: none, e.g. a new worker).
   * A ranked worker that asks with known_generation = the current generation is re-joining: the
   * coordinator opens a re-rendezvous (TorchElastic semantics) and resumes from the most advanced
   * state any re-joining worker holds.
   */
  'appliedStep': (number);
  /**
   * Why the worker re-joins (logged): "peer-failure", "membership-change", "coordinator-lost", ...
   */
  'reason': (string);
  /**
   * Collective address of the peer whose failure ended the step (empty: unknown). When rings keep
   * failing without progress — a partition between workers that all still reach the coordinator —
   * the coordinator evicts the most-suspected member instead of re-forming the same ring forever.
   */
  'suspect': (string);
}
