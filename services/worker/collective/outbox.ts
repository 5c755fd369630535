/**
 * Routes the right neighbour's pull requests to the local operation they ask for.
 *
 * The right neighbour may ask for an operation before this rank started it (it finished the
 * previous one earlier, or a later bucket overlaps), so a request for an operation not started
 * here yet is *parked* until the operation registers — the rendezvous NCCL performs when a
 * sender waits for the receiver's buffer — or answered with DEADLINE_EXCEEDED when the wait
 * deadline passes. Requests of an older generation, and requests for an operation that already
 * finished here, are rejected at once; requests of a newer generation wait for the
 * reconfiguration (the coordinator tells ranks one by one).
 */
import type { Logger } from '../../core/logging.js';
import {
  ChunkRejectedError,
  CollectiveStateError,
  RendezvousTimeoutError,
  StaleGenerationError,
  type OperationRef,
} from './collective-errors.js';
import type { OutgoingLane } from './outgoing-lane.js';

/** A local operation that serves lanes. */
export interface LaneServer {
  readonly operation: OperationRef;
  /** Take (validate and start feeding) a lane the right neighbour opened. */
  acceptLane(lane: OutgoingLane): void;
}

interface ParkedLane {
  readonly lane: OutgoingLane;
  readonly timer: NodeJS.Timeout;
}

export interface OutboxOptions {
  /** How long a request may wait for its operation to start here, in ms. */
  readonly parkTimeoutMs: number;
  /** Bound on parked requests. */
  readonly maxParked: number;
  readonly logger: Logger;
}

/** The operation a pull request names. */
function operationOfRequest(lane: OutgoingLane): OperationRef {
  const { kind, generation, sequence, step } = lane.request;
  return { kind, generation, sequence, step };
}

export class Outbox {
  private generation: number | undefined;
  private readonly active = new Map<number, LaneServer>();
  /** Every sequence below this has finished in the current generation. */
  private finishedBelow = 0;
  /** Finished sequences at or above `finishedBelow` (operations may finish out of order). */
  private readonly finishedAbove = new Set<number>();
  private readonly parked = new Set<ParkedLane>();
  private closedWith: Error | undefined;

  constructor(private readonly options: OutboxOptions) {}

  /** Number of parked requests (tests, diagnostics). */
  get parkedCount(): number {
    return this.parked.size;
  }

  /**
   * Switch to a new generation. Active operations must have been failed by the caller already;
   * parked requests of older generations are rejected, those of the new one stay parked.
   */
  setGeneration(generation: number): void {
    this.generation = generation;
    this.active.clear();
    this.finishedBelow = 0;
    this.finishedAbove.clear();
    for (const entry of [...this.parked]) {
      const op = operationOfRequest(entry.lane);
      if (op.generation < generation) {
        this.unpark(entry);
        entry.lane.fail(new StaleGenerationError(generation, op.generation, entry.lane.request.receiverRank, op, 'pull request'));
      }
    }
  }

  /** Start serving an operation: hands it the requests that were waiting for it. */
  register(server: LaneServer): void {
    const { generation, sequence } = server.operation;
    if (generation !== this.generation) throw new CollectiveStateError(`cannot register generation ${generation} while at ${this.generation}`);
    this.active.set(sequence, server);
    for (const entry of [...this.parked]) {
      const op = operationOfRequest(entry.lane);
      if (op.generation === generation && op.sequence === sequence) {
        this.unpark(entry);
        server.acceptLane(entry.lane);
      }
    }
  }

  /**
   * The operation finished (or failed with `error`): later requests for it are rejected, and so
   * are requests still parked for it (an operation failed before it ran).
   */
  unregister(operation: OperationRef, error?: Error): void {
    if (operation.generation !== this.generation) return;
    this.active.delete(operation.sequence);
    this.finishedAbove.add(operation.sequence);
    while (this.finishedAbove.delete(this.finishedBelow)) this.finishedBelow++;
    for (const entry of [...this.parked]) {
      const op = operationOfRequest(entry.lane);
      if (op.generation === operation.generation && op.sequence === operation.sequence) {
        this.unpark(entry);
        entry.lane.fail(error ?? this.finishedError(entry.lane, op));
      }
    }
  }

  /** Route a new pull request (see the module comment). */
  route(lane: OutgoingLane): void {
    if (this.closedWith !== undefined) {
      lane.fail(this.closedWith);
      return;
    }
    const op = operationOfRequest(lane);
    if (this.generation !== undefined && op.generation < this.generation) {
      lane.fail(new StaleGenerationError(this.generation, op.generation, lane.request.receiverRank, op, 'pull request'));
      return;
    }
    if (op.generation === this.generation) {
      const server = this.active.get(op.sequence);
      if (server !== undefined) {
        server.acceptLane(lane);
        return;
      }
      if (op.sequence < this.finishedBelow || this.finishedAbove.has(op.sequence)) {
        lane.fail(this.finishedError(lane, op));
        return;
      }
    }
    this.park(lane, op);
  }

  /** Reject every parked request and every later one with `error` (node shutdown). */
  close(error: Error): void {
    this.closedWith = error;
    for (const entry of [...this.parked]) {
      this.unpark(entry);
      entry.lane.fail(error);
    }
  }

  private finishedError(lane: OutgoingLane, op: OperationRef): ChunkRejectedError {
    return new ChunkRejectedError('sequence', 'an operation that has not finished', op.sequence, lane.request.receiverRank, op, 'pull request');
  }

  private park(lane: OutgoingLane, op: OperationRef): void {
    if (this.parked.size >= this.options.maxParked) {
      lane.fail(new CollectiveStateError(`too many pull requests waiting for operations to start (${this.parked.size})`, op));
      return;
    }
    const timer = setTimeout(() => {
      this.unpark(entry);
      this.options.logger.warn({ operation: op, receiver: lane.request.receiverRank }, 'collective: parked pull request expired');
      lane.fail(new RendezvousTimeoutError(op, lane.request.receiverRank, this.options.parkTimeoutMs));
    }, this.options.parkTimeoutMs);
    timer.unref();
    const entry: ParkedLane = { lane, timer };
    this.parked.add(entry);
    // A receiver that gives up while parked needs no answer.
    lane.attach({ laneCancelled: () => this.unpark(entry) });
  }

  private unpark(entry: ParkedLane): void {
    clearTimeout(entry.timer);
    this.parked.delete(entry);
  }
}
