/**
 * The transport of one collective operation:
 * - receiving: one pull call per lane to the left neighbour, opened when the operation starts;
 * - sending: the lanes the right neighbour pulls (routed here by the outbox), fed from a queue
 *   until each one arrives;
 * - completion of the sending side once every lane was pulled and every message written to the
 *   socket (not merely queued), within `timeoutMs`;
 * - failure propagation: on failure the channel ends the lanes it serves with the error (the
 *   right neighbour fails at once, with this rank's message as the cause) and cancels its pulls
 *   (the left neighbour fails at once). Errors thus travel round the ring in milliseconds rather
 *   than each rank waiting for its own deadline — the role of NCCL's `ncclCommAbort` and of Gloo
 *   closing its pairs.
 */
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../../core/logging.js';
import type { DecodedChunk, WireDtype } from './chunk-codec.js';
import { ChunkRejectedError, CollectiveTimeoutError, PeerAbortedError, PeerFailedError, type ChunkField, type OperationRef } from './collective-errors.js';
import type { LaneServer, Outbox } from './outbox.js';
import { ERROR_NAME_TRAILER, type LaneOwner, type OutgoingLane } from './outgoing-lane.js';
import type { LeanPullCall, PullCallError } from './lean-pull-call.js';
import type { PeerLink } from './peer-link.js';

/** Where this rank sits in the ring for one operation. */
export interface RingPosition {
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  readonly leftRank: number;
  readonly leftAddress: string;
  readonly rightRank: number;
  readonly rightAddress: string;
}

/**
 * How long a failed operation lets its queued chunks drain to a neighbour that is still reading
 * (so that it gets this rank's error after them) before it resets the streams to get the
 * caller's buffer back.
 */
export const FAILED_WRITES_GRACE_MS = 1000;

/** What an operation does with its traffic; implemented by RingOperation. */
export interface OperationHandler {
  /** A chunk from the left neighbour. Throwing fails the operation with the thrown error. */
  onChunk(chunk: DecodedChunk): void;
  /** The transport failed (peer failed, cancelled, timed out). Must be idempotent. */
  onFailure(error: Error): void;
}

export interface OperationChannelOptions {
  readonly operation: OperationRef;
  readonly position: RingPosition;
  /** Link to the left neighbour (pulls). */
  readonly link: PeerLink;
  readonly outbox: Outbox;
  readonly lanes: number;
  readonly dtype: WireDtype;
  /** Element count of the operation, checked against pull requests. */
  readonly totalLength: number;
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Called once when the channel closes (the node forgets it). */
  readonly onClosed: (channel: OperationChannel) => void;
}

/** A message waiting for its lane to be pulled: head, body (or undefined), completion. */
type QueuedMessage = readonly [Buffer, Buffer | undefined, () => void];

interface ServedLane {
  lane: OutgoingLane | undefined;
  readonly queue: QueuedMessage[];
}

export class OperationChannel implements LaneServer, LaneOwner {
  readonly operation: OperationRef;
  readonly position: RingPosition;
  private handler: OperationHandler | undefined;
  private readonly served: ServedLane[];
  private servedLanes = 0;
  /**
   * Messages handed to a lane whose HTTP/2 write has not completed yet. The sending side is not
   * done until this is 0: a rank that declared the operation complete while its last chunks
   * still sat in Node's write queue would start its (synchronous, event-loop-blocking) forward
   * pass, and its right neighbour would wait that whole compute time for them — measured as
   * 0.7–1.9 s "all-reduce" steps that alternated between the ranks of a 2-worker job.
   */
  private unflushed = 0;
  private readonly pulls: LeanPullCall[] = [];
  private closed = false;
  private onAllServed: (() => void) | undefined;
  private rendezvousTimer: NodeJS.Timeout | undefined;
  /** Waiting for the last pending write after a failure (see {@link close}). */
  private onReleased: (() => void) | undefined;
  private releaseTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OperationChannelOptions) {
    this.operation = options.operation;
    this.position = options.position;
    this.served = Array.from({ length: options.lanes }, () => ({ lane: undefined, queue: [] }));
  }

  /** The operation this channel reports to (set once, before {@link begin}). */
  setHandler(handler: OperationHandler): void {
    this.handler = handler;
  }

  /**
   * Start: serve `servedLanes` lanes to the right neighbour (requests that were waiting are
   * accepted now) and pull `pullLanes` lanes from the left neighbour.
   */
  begin(pullLanes: number, servedLanes: number): void {
    this.servedLanes = servedLanes;
    this.options.outbox.register(this);
    const { operation, position, timeoutMs, lanes, dtype, totalLength } = this.options;
    // Backstop deadline of each call: every wait inside is bounded by timeoutMs, and an
    // operation has at most 2(N−1) pipelined stages plus the rendezvous.
    const deadline = new Date(Date.now() + timeoutMs * (2 * position.worldSize + 2));
    for (let lane = 0; lane < pullLanes && !this.closed; lane++) {
      const call = this.options.link.openPull({ ...operation, receiverRank: position.rank, lane, lanes, dtype, totalLength }, deadline);
      call.on('data', (chunk: DecodedChunk) => this.onPulledChunk(chunk));
      call.on('error', (error: PullCallError) => this.onPullError(error));
      this.pulls.push(call);
    }
  }

  /**
   * Send a length-prefixed TensorChunk (`head` and, for payloads sent from the caller's buffer,
   * `body`) on lane `chunkIndex mod lanes`; `written` runs once its HTTP/2 write completed.
   */
  send(head: Buffer, body: Buffer | undefined, chunkIndex: number, written: () => void): void {
    if (this.closed) return;
    const served = this.served[chunkIndex % this.served.length]!;
    this.unflushed++;
    const flushed = (): void => {
      written();
      this.unflushed--;
      if (this.unflushed > 0) return;
      this.checkServed();
      const released = this.onReleased;
      if (released !== undefined) {
        this.onReleased = undefined;
        clearTimeout(this.releaseTimer);
        released();
      }
    };
    if (served.lane !== undefined) served.lane.write(head, body, flushed);
    else served.queue.push([head, body, flushed]);
  }

  /**
   * The sending side is complete once every served lane was pulled and ended and every message
   * written; call `done` then. A right neighbour that does not pull (or read) within `timeoutMs`
   * fails the operation.
   */
  finish(done: () => void): void {
    this.onAllServed = done;
    for (const served of this.served) served.lane?.end();
    this.rendezvousTimer = setTimeout(() => {
      const { rightRank, rightAddress } = this.position;
      const pulled = this.served.slice(0, this.servedLanes).every((served) => served.lane !== undefined);
      const awaited = pulled ? 'read of the last chunks' : 'pull request';
      this.handler?.onFailure(new CollectiveTimeoutError(this.operation, rightRank, rightAddress, 'rendezvous', undefined, this.options.timeoutMs, awaited));
    }, this.options.timeoutMs);
    this.checkServed();
  }

  /** Fail the operation from outside (reconfiguration, node shutdown); no-op once closed. */
  failPending(error: Error): void {
    if (!this.closed) this.handler?.onFailure(error);
  }

  /**
   * Release the channel; with an error, propagate the failure to both neighbours. `released`
   * runs once no write of this operation is pending any more: payloads are sent from the caller's
   * buffer, which must not be handed back while the socket may still read it. Writes still
   * pending {@link FAILED_WRITES_GRACE_MS} after a failure are dropped by resetting their
   * streams.
   */
  close(error?: Error, released?: () => void): void {
    if (this.closed) {
      released?.();
      return;
    }
    this.closed = true;
    clearTimeout(this.rendezvousTimer);
    this.options.outbox.unregister(this.operation, error);
    if (error !== undefined) {
      this.options.logger.debug({ operation: this.operation, err: error }, 'collective: operation failed');
      // The error trailers follow the queued chunks, so a neighbour that is still reading learns
      // this rank's reason.
      for (const served of this.served) served.lane?.fail(error);
      // Chunks of lanes never pulled were never handed to a stream: drop them now.
      for (const served of this.served) {
        const dropped = served.queue.splice(0);
        for (const [, , written] of dropped) written();
      }
      // Completed pulls end by themselves; only a failed operation cancels the open ones.
      for (const call of this.pulls) call.cancel();
    }
    this.options.onClosed(this);
    if (released === undefined) return;
    if (this.unflushed === 0) {
      released();
      return;
    }
    this.onReleased = released;
    this.releaseTimer = setTimeout(() => {
      for (const served of this.served) served.lane?.reset();
    }, FAILED_WRITES_GRACE_MS);
  }

  // --- LaneServer / LaneOwner (called by the outbox and the lanes) ---

  acceptLane(lane: OutgoingLane): void {
    const mismatch = this.checkRequest(lane);
    if (mismatch !== undefined) {
      lane.fail(mismatch);
      this.handler?.onFailure(mismatch);
      return;
    }
    const served = this.served[lane.request.lane]!;
    if (served.lane !== undefined) {
      const duplicate = new ChunkRejectedError('lane', 'each lane pulled once', lane.request.lane, lane.request.receiverRank, this.operation, 'pull request');
      lane.fail(duplicate);
      this.handler?.onFailure(duplicate);
      return;
    }
    lane.attach(this);
    served.lane = lane;
    for (const [head, body, written] of served.queue) lane.write(head, body, written);
    served.queue.length = 0;
    if (this.onAllServed !== undefined) lane.end();
    this.checkServed();
  }

  laneCancelled(): void {
    if (!this.closed) this.handler?.onFailure(new PeerAbortedError(this.operation, this.position.rightRank, this.position.rightAddress));
  }

  // --- internals ---

  private checkRequest(lane: OutgoingLane): ChunkRejectedError | undefined {
    const r = lane.request;
    const op = this.operation;
    const reject = (field: ChunkField, expected: unknown, actual: unknown): ChunkRejectedError =>
      new ChunkRejectedError(field, expected, actual, r.receiverRank, op, 'pull request');
    if (r.receiverRank !== this.position.rightRank) return reject('receiverRank', this.position.rightRank, r.receiverRank);
    if (!r.kindKnown || r.kind !== op.kind) return reject('kind', op.kind, r.kindKnown ? r.kind : 'unknown');
    if (r.step !== op.step) return reject('step', op.step, r.step);
    if (r.dtype !== this.options.dtype) return reject('dtype', this.options.dtype, r.dtype ?? 'unknown');
    if (r.totalLength !== this.options.totalLength) return reject('totalLength', this.options.totalLength, r.totalLength);
    if (r.lanes !== this.options.lanes) return reject('lanes', this.options.lanes, r.lanes);
    if (r.lane >= this.servedLanes) return reject('lane', `less than ${this.servedLanes}`, r.lane);
    return undefined;
  }

  private checkServed(): void {
    if (this.onAllServed === undefined || this.closed || this.unflushed > 0) return;
    for (let i = 0; i < this.servedLanes; i++) if (this.served[i]!.lane === undefined) return;
    clearTimeout(this.rendezvousTimer);
    const done = this.onAllServed;
    this.onAllServed = () => undefined;
    done();
  }

  private onPulledChunk(chunk: DecodedChunk): void {
    if (this.closed || this.handler === undefined) return;
    try {
      this.handler.onChunk(chunk);
    } catch (error) {
      this.handler.onFailure(error as Error);
    }
  }

  private onPullError(error: PullCallError): void {
    if (this.closed) return;
    const { leftRank, leftAddress } = this.position;
    const remoteError = error.metadata.get(ERROR_NAME_TRAILER)[0];
    let mapped: Error;
    if (remoteError === 'RendezvousTimeoutError') {
      // The left neighbour never started this operation.
      mapped = new CollectiveTimeoutError(this.operation, leftRank, leftAddress, 'rendezvous', undefined, this.options.timeoutMs, 'start of the operation', { cause: error });
    } else if (remoteError === undefined && error.code === Status.DEADLINE_EXCEEDED) {
      mapped = new CollectiveTimeoutError(this.operation, leftRank, leftAddress, 'rendezvous', undefined, this.options.timeoutMs, 'end of the call before its deadline', { cause: error });
    } else {
      // The peer failed (its message names the original cause) or could not be reached.
      mapped = new PeerFailedError(this.operation, leftRank, leftAddress, error.code, error.details, { cause: error });
    }
    this.handler?.onFailure(mapped);
  }
}
