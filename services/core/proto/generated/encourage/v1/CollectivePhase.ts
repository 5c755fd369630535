// Original file: encourage/v1/collective.proto

export const CollectivePhase = {
  COLLECTIVE_PHASE_UNSPECIFIED: 'COLLECTIVE_PHASE_UNSPECIFIED',
  /**
   * Ring all-reduce, first half: each hop adds the received chunk into the local buffer.
   */
  COLLECTIVE_PHASE_REDUCE_SCATTER: 'COLLECTIVE_PHASE_REDUCE_SCATTER',
  /**
   * Ring all-reduce, second half: each hop overwrites the local chunk with the reduced one.
   */
  COLLECTIVE_PHASE_ALL_GATHER: 'COLLECTIVE_PHASE_ALL_GATHER',
  /**
   * Ring broadcast from a root: each hop copies and forwards.
   */
  COLLECTIVE_PHASE_BROADCAST: 'COLLECTIVE_PHASE_BROADCAST',
} as const;

export type CollectivePhase =
  | 'COLLECTIVE_PHASE_UNSPECIFIED'
  | 0
  /**
   * Ring all-reduce, first half: each hop adds the received chunk into the local buffer.
   */
  | 'COLLECTIVE_PHASE_REDUCE_SCATTER'
  | 1
  /**
   * Ring all-reduce, second half: each hop overwrites the local chunk with the reduced one.
   */
  | 'COLLECTIVE_PHASE_ALL_GATHER'
  | 2
  /**
   * Ring broadcast from a root: each hop copies and forwards.
   */
  | 'COLLECTIVE_PHASE_BROADCAST'
  | 3

export type CollectivePhase__Output = typeof CollectivePhase[keyof typeof CollectivePhase]
