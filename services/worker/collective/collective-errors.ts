/**
 * Errors of the collective data plane. Each names the operation (kind, step, sequence,
 * generation) and the peer rank involved, so that a failed training step can be traced to the
 * rank that stopped answering or sent the wrong thing. They become gRPC statuses only at the
 * handler boundary (collective-service.ts).
 */
import { EncourageError, describe } from '../../core/errors.js';

/** The collectives this package implements. */
export type CollectiveKindName = 'all-reduce' | 'broadcast' | 'barrier';

/** A phase of a collective, as it appears in error messages and logs. */
export type CollectivePhaseName = 'reduce-scatter' | 'all-gather' | 'broadcast' | 'rendezvous';

/** Identifies one collective operation across the ring. */
export interface OperationRef {
  readonly kind: CollectiveKindName;
  readonly generation: number;
  /** Per-generation operation counter; equal on all ranks for the same operation. */
  readonly sequence: number;
  /** Training step the caller attached. */
  readonly step: number;
}

/** `all-reduce step 12 (sequence 3, generation 1)` */
export function describeOperation(op: OperationRef): string {
  return `${op.kind} step ${op.step} (sequence ${op.sequence}, generation ${op.generation})`;
}

/** Base class of every collective failure. */
export class CollectiveError extends EncourageError {
  override readonly name: string = 'CollectiveError';
  constructor(
    message: string,
    /** The operation that failed, when the failure belongs to one. */
    readonly operation?: OperationRef,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A wait exceeded its deadline: a chunk from the left neighbour, or the right neighbour asking
 * for this rank's chunks at all. Like Gloo's per-recv timeout (and unlike a bare TCP read), the
 * wait fails instead of hanging.
 */
export class CollectiveTimeoutError extends CollectiveError {
  override readonly name = 'CollectiveTimeoutError';
  constructor(
    operation: OperationRef,
    readonly peerRank: number,
    readonly peerAddress: string,
    readonly phase: CollectivePhaseName,
    /** Ring step of the earliest missing chunk (undefined for acknowledgements). */
    readonly ringStep: number | undefined,
    readonly timeoutMs: number,
    readonly waitingFor: string,
    options?: { cause?: unknown },
  ) {
    const at = ringStep === undefined ? phase : `${phase} ring-step ${ringStep}`;
    super(
      `${describeOperation(operation)} ${at}: no ${waitingFor} from rank ${peerRank} (${peerAddress}) within ${timeoutMs} ms`,
      operation,
      options,
    );
  }
}

/**
 * Sender side of a rendezvous: the right neighbour asked for an operation that this rank did not
 * start within the wait deadline (it is behind, stuck, or issued different collectives).
 */
export class RendezvousTimeoutError extends CollectiveError {
  override readonly name = 'RendezvousTimeoutError';
  constructor(
    operation: OperationRef,
    readonly receiverRank: number,
    readonly timeoutMs: number,
  ) {
    super(`${describeOperation(operation)}: rank ${receiverRank} asked for it, but this rank did not start it within ${timeoutMs} ms`, operation);
  }
}

/** Which property of a received chunk did not match the receiver's view of the operation. */
export type ChunkField =
  | 'generation'
  | 'sequence'
  | 'step'
  | 'kind'
  | 'phase'
  | 'ringStep'
  | 'chunkIndex'
  | 'senderRank'
  | 'dtype'
  | 'offset'
  | 'length'
  | 'size'
  | 'totalLength'
  | 'checksum'
  | 'duplicate'
  | 'encoding'
  | 'receiverRank'
  | 'lane'
  | 'lanes';

/**
 * A received chunk (or a pull request for chunks) does not belong where it claims to: it is
 * rejected, and the operation fails, rather than reducing garbage into the gradients.
 */
export class ChunkRejectedError extends CollectiveError {
  override readonly name: string = 'ChunkRejectedError';
  constructor(
    readonly field: ChunkField,
    /** What this rank expected. */
    readonly expected: unknown,
    /** What the chunk or request carried. */
    readonly actual: unknown,
    /** Rank that sent the chunk or request (from its header; undefined if unreadable). */
    readonly peerRank: number | undefined,
    operation?: OperationRef,
    readonly subject: 'chunk' | 'pull request' = 'chunk',
    options?: { cause?: unknown },
  ) {
    const where = operation === undefined ? '' : ` for ${describeOperation(operation)}`;
    super(
      `rejected ${subject} from rank ${peerRank ?? '?'}${where}: ${field} is ${describe(actual)}, expected ${describe(expected)}`,
      operation,
      options,
    );
  }
}

/** A chunk of an older membership generation (a peer that has not seen the reconfiguration). */
export class StaleGenerationError extends ChunkRejectedError {
  override readonly name = 'StaleGenerationError';
  constructor(expected: number, actual: number, peerRank: number | undefined, operation?: OperationRef, subject: 'chunk' | 'pull request' = 'chunk') {
    super('generation', expected, actual, peerRank, operation, subject);
  }
}

/**
 * A neighbour's call ended in an error: it rejected our pull request, failed the operation
 * itself (the details carry its own error message, so the original cause travels round the
 * ring), or could not be reached.
 */
export class PeerFailedError extends CollectiveError {
  override readonly name = 'PeerFailedError';
  constructor(
    operation: OperationRef,
    readonly peerRank: number,
    readonly peerAddress: string,
    /** gRPC status code returned by the peer. */
    readonly code: number,
    /** The peer's status details (its own error message). */
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${describeOperation(operation)}: rank ${peerRank} (${peerAddress}) failed: ${details}`, operation, options);
  }
}

/** The right neighbour cancelled its pull in the middle of an operation (it failed, or went away). */
export class PeerAbortedError extends CollectiveError {
  override readonly name = 'PeerAbortedError';
  constructor(
    operation: OperationRef,
    readonly peerRank: number,
    readonly peerAddress: string,
    options?: { cause?: unknown },
  ) {
    super(`${describeOperation(operation)}: rank ${peerRank} (${peerAddress}) cancelled its pull`, operation, options);
  }
}

/** `reconfigure()` moved the node to a new generation while this operation was pending. */
export class GenerationChangedError extends CollectiveError {
  override readonly name = 'GenerationChangedError';
  constructor(
    operation: OperationRef,
    readonly newGeneration: number,
  ) {
    super(`${describeOperation(operation)} aborted: membership changed to generation ${newGeneration}`, operation);
  }
}

/** The node has no membership yet, or was closed. */
export class CollectiveStateError extends CollectiveError {
  override readonly name = 'CollectiveStateError';
}
