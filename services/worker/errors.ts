/**
 * Worker error classes, each carrying the values that explain it.
 */
import { EncourageError } from '../core/errors.js';

/** Why a worker leaves its current generation and re-joins the rendezvous. */
export type RejoinReason = 'membership-change' | 'peer-failure' | 'coordinator-lost' | 'identity-lost';

/**
 * The current generation cannot go on: a peer failed, the coordinator announced a lost worker or
 * went away, or this worker's registration was dropped. The worker re-joins (TorchElastic's
 * "restart the worker group"); training resumes from the most advanced committed state.
 */
export class RejoinRequired extends EncourageError {
  override readonly name = 'RejoinRequired';
  constructor(
    readonly reason: RejoinReason,
    readonly generation: number,
    options?: { cause?: unknown },
  ) {
    super(`generation ${generation} ended (${reason})${options?.cause instanceof Error ? `: ${options.cause.message}` : ''}`, options);
  }
}

/** A NaN/Inf in a loss or gradient of this rank (named), found before the all-reduce committed. */
export class NonFiniteValuesError extends EncourageError {
  override readonly name = 'NonFiniteValuesError';
  constructor(
    readonly rank: number,
    readonly step: number,
    readonly tensor: string,
  ) {
    super(`non-finite value on rank ${rank} at step ${step} in ${tensor}`);
  }
}
