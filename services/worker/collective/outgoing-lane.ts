/**
 * The serving end of one `PullChunks` call: the right neighbour asked for one lane of one
 * operation, and this rank streams that lane's chunks into the response. This is the handler
 * boundary, the only place where collective errors become gRPC `Status` codes.
 */
import { status as Status } from '@grpc/grpc-js';
import type { PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import type { PullResponder } from './server-pull-call.js';
import { fromPullRequest, type PullSpec } from './pull-request.js';
import {
  ChunkRejectedError,
  CollectiveStateError,
  CollectiveTimeoutError,
  GenerationChangedError,
  PeerAbortedError,
  PeerFailedError,
  RendezvousTimeoutError,
  StaleGenerationError,
} from './collective-errors.js';

/** Trailer carrying the error class name, so a receiver can tell a peer's verdict from a local failure. */
export const ERROR_NAME_TRAILER = 'encourage-error';

/** gRPC status for a collective error (see the `Collective` service comment in collective.proto). */
export function statusForError(error: unknown): Status {
  if (error instanceof StaleGenerationError) return Status.FAILED_PRECONDITION;
  if (error instanceof ChunkRejectedError) return Status.INVALID_ARGUMENT;
  if (error instanceof GenerationChangedError || error instanceof PeerAbortedError || error instanceof PeerFailedError) return Status.ABORTED;
  if (error instanceof CollectiveTimeoutError || error instanceof RendezvousTimeoutError) return Status.DEADLINE_EXCEEDED;
  if (error instanceof CollectiveStateError) return Status.UNAVAILABLE;
  return Status.INTERNAL;
}

/** The operation a lane is attached to. */
export interface LaneOwner {
  /** The receiver cancelled the call before this rank ended it. */
  laneCancelled(lane: OutgoingLane): void;
}

export class OutgoingLane {
  private owner: LaneOwner | undefined;
  private finished = false;
  /** What the receiver asked for. */
  readonly request: PullSpec & { readonly kindKnown: boolean };

  constructor(
    private readonly call: PullResponder,
    request: PullRequest__Output,
  ) {
    this.request = fromPullRequest(request);
    call.onCancelled(() => {
      if (this.finished) return;
      this.finished = true;
      this.owner?.laneCancelled(this);
    });
  }

  /** Whether the lane was ended, failed or cancelled. */
  get isFinished(): boolean {
    return this.finished;
  }

  attach(owner: LaneOwner): void {
    this.owner = owner;
  }

  /**
   * Queue a length-prefixed TensorChunk (`head`, then `body` when the payload is sent from the
   * caller's buffer); `written` runs once the HTTP/2 write of it completed (or failed), after which
   * the caller may reuse that memory. Backpressure is left to HTTP/2 flow control and the write
   * queue: an operation's data is bounded by its bucket.
   */
  write(head: Buffer, body: Buffer | undefined, written: () => void): void {
    if (this.finished) {
      written();
      return;
    }
    this.call.write(head, body, written);
  }

  /** End the stream with OK after the queued chunks. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.call.end();
  }

  /** End the stream with the status of `error`, its message as details and its class name as a trailer. */
  fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    failResponder(this.call, error);
  }

  /** Reset the stream at once (RST_STREAM), dropping whatever is still queued, even after {@link fail}. */
  reset(): void {
    this.finished = true;
    this.call.reset();
  }
}

/** End a PullChunks call with the status of `error`, its message as details and its class name as a trailer. */
export function failResponder(call: PullResponder, error: Error): void {
  call.fail(statusForError(error), error.message, { [ERROR_NAME_TRAILER]: error.name });
}
