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
  /**
   * Samples of start_epoch's order already committed (the new ring re-shards the rest).
   */
  'startPosition'?: (number | string | Long);
  /**
   * Rank (in this generation) whose in-memory state every rank adopts by broadcast; -1 when the
   * state comes from the checkpoint (restore_from_checkpoint) or from the seeded initialisation.
   */
  'stateSourceRank'?: (number);
  /**
   * The coordinator is stopping (SIGTERM): rank 0 uploads a checkpoint of the state at
   * start_step, then every worker leaves; the run resumes later from that checkpoint.
   */
  'stop'?: (boolean);
  /**
   * Wire format of this generation's gradient all-reduce, "float32" or "float16", the same for
   * every rank of the ring: the run's explicit setting, or for `auto` float16 when every rank
   * reports a GPU and float32 otherwise. Empty from a coordinator that predates it: the worker
   * then uses the run's explicit setting, or float32.
   */
  'allreduceDtype'?: (string);
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
  /**
   * Samples of start_epoch's order already committed (the new ring re-shards the rest).
   */
  'startPosition': (number);
  /**
   * Rank (in this generation) whose in-memory state every rank adopts by broadcast; -1 when the
   * state comes from the checkpoint (restore_from_checkpoint) or from the seeded initialisation.
   */
  'stateSourceRank': (number);
  /**
   * The coordinator is stopping (SIGTERM): rank 0 uploads a checkpoint of the state at
   * start_step, then every worker leaves; the run resumes later from that checkpoint.
   */
  'stop': (boolean);
  /**
   * Wire format of this generation's gradient all-reduce, "float32" or "float16", the same for
   * every rank of the ring: the run's explicit setting, or for `auto` float16 when every rank
   * reports a GPU and float32 otherwise. Empty from a coordinator that predates it: the worker
   * then uses the run's explicit setting, or float32.
   */
  'allreduceDtype': (string);
}
