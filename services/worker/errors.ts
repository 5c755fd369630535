/**
 * Worker error classes, each carrying the values that explain it.
 */
import { EncourageError } from '../core/errors.js';
import { CollectiveTimeoutError } from './collective/collective-errors.js';

/** Why a worker leaves its current generation and re-joins the rendezvous. */
export type RejoinReason = 'membership-change' | 'peer-failure' | 'coordinator-lost' | 'identity-lost';

/**
 * The current generation cannot go on: a peer failed, the coordinator announced a lost worker or
 * went away, or this worker's registration was dropped. The worker re-joins (TorchElastic's
 * "restart the worker group"); training resumes from the most advanced committed state.
 */
export class RejoinRequired extends EncourageError {
  override readonly name = 'RejoinRequired';
  /**
   * Collective address of the peer that stayed silent past the deadline, when that is what ended
   * the step. Only a timeout is evidence against a peer: "peer failed"/"cancelled" errors are the
   * cascade of someone else's timeout around the ring and would blame innocent neighbours.
   */
  readonly suspect: string;
  constructor(
    readonly reason: RejoinReason,
    readonly generation: number,
    options?: { cause?: unknown },
  ) {
    super(`generation ${generation} ended (${reason})${options?.cause instanceof Error ? `: ${options.cause.message}` : ''}`, options);
    this.suspect = options?.cause instanceof CollectiveTimeoutError ? options.cause.peerAddress : '';
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

/**
 * The coordinator's address accepts TCP connections, but no gRPC session comes up: a TLS
 * mismatch (a plaintext worker and a TLS coordinator or the reverse, a missing or foreign client
 * certificate under mutual TLS, a certificate that does not name the dialled host). Retrying
 * cannot help, so the worker stops with this instead of waiting out its connect timeout.
 */
export class CoordinatorHandshakeError extends EncourageError {
  override readonly name = 'CoordinatorHandshakeError';
  constructor(
    readonly address: string,
    /** This worker's transport: off, on or mutual. */
    readonly tls: string,
    readonly lastError: string,
    readonly failingForMs: number,
  ) {
    super(
      `coordinator ${address} accepts connections but no gRPC session came up for ${failingForMs} ms (last error: ${lastError}); ` +
        `check that this worker's TLS settings (TLS ${tls}) match the coordinator's: a coordinator with --tls-mutual needs a client certificate signed by its CA (docs/security.md)`,
    );
  }
}

/** Nothing answered at the coordinator's address within the connect timeout. */
export class CoordinatorUnreachableError extends EncourageError {
  override readonly name = 'CoordinatorUnreachableError';
  constructor(
    readonly address: string,
    readonly timeoutMs: number,
    readonly lastError: string,
  ) {
    super(`coordinator ${address} unreachable for ${timeoutMs} ms (last error: ${lastError})`);
  }
}
