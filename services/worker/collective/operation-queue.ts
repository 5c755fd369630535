/**
 * The order in which a node runs its collective operations, like a NCCL stream or Gloo's
 * per-process-group work queue: operations start in the order they were issued, at most a
 * window of them at once, and the calls that issued them settle in issue order too.
 *
 * Why a node-wide queue: the training step issues one all-reduce per gradient bucket as each
 * bucket reaches the host, without awaiting the previous one. Started all at once, K operations
 * would share the link and all finish near the end; started in order with a small window, bucket
 * 0 is reduced first and its update can begin while later buckets are still on the wire. Starting
 * in sequence order on every rank also rules out deadlock: on every rank, the lowest unfinished
 * operation is either running or at the head of the queue with nothing in flight, so it runs.
 *
 * A failed operation frees its slot once it settles; operations of an abandoned generation that
 * never started are dropped at once (their callers fail without waiting for a slot).
 */

import type { OperationRef } from './collective-errors.js';

/** One operation waiting to run. */
export interface QueuedOperation {
  /** The operation (its generation is the membership it was issued in). */
  readonly operation: OperationRef;
  /** The operation starts only while fewer than this many operations are in flight on the node. */
  readonly window: number;
  /** Start it; the promise settles when it completed or failed (throwing counts as failing). */
  start(): Promise<void>;
  /** It will never start: fail it with `error` (telling the peers, if it can). */
  drop(error: Error): void;
}

interface Entry {
  readonly operation: QueuedOperation;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

export class OperationQueue {
  private readonly waiting: Entry[] = [];
  private running = 0;
  /** Settles after every call registered so far has settled (never rejects). */
  private tail: Promise<void> = Promise.resolve();

  /** Operations started and not settled yet. */
  get inFlight(): number {
    return this.running;
  }

  /** Operations issued and not started yet. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Queue `operation`; the promise settles as the operation does (or rejects when it is dropped). */
  submit(operation: QueuedOperation): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ operation, resolve, reject });
      this.pump();
    });
  }

  /**
   * `outcome`, but settled only after every call registered before it settled: the promise of
   * call k never resolves before that of call k−1. Register synchronously when the call is issued.
   */
  inOrder<T>(outcome: Promise<T>): Promise<T> {
    // Handled here at once, so that a rejection that comes before the earlier calls settled is
    // not reported as unhandled; `ordered` carries it to the caller.
    outcome.catch(() => undefined);
    const previous = this.tail;
    const ordered = previous.then(() => outcome);
    this.tail = ordered.then(
      () => undefined,
      () => undefined,
    );
    return ordered;
  }

  /** Drop every waiting operation for which `errorFor` names an error, failing it with that error. */
  drop(errorFor: (queued: QueuedOperation) => Error | undefined): void {
    const dropped: Array<[Entry, Error]> = [];
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const entry = this.waiting[i]!;
      const error = errorFor(entry.operation);
      if (error !== undefined) {
        this.waiting.splice(i, 1);
        dropped.unshift([entry, error]);
      }
    }
    for (const [entry, error] of dropped) {
      entry.operation.drop(error);
      entry.reject(error);
    }
    this.pump();
  }

  private pump(): void {
    for (;;) {
      const head = this.waiting[0];
      if (head === undefined || this.running >= head.operation.window) return;
      this.waiting.shift();
      this.running++;
      let started: Promise<void>;
      try {
        started = head.operation.start();
      } catch (error) {
        started = Promise.reject(error as Error);
      }
      started.then(
        () => this.settle(head, undefined),
        (error: unknown) => this.settle(head, error as Error),
      );
    }
  }

  private settle(entry: Entry, error: Error | undefined): void {
    this.running--;
    if (error === undefined) entry.resolve();
    else entry.reject(error);
    this.pump();
  }
}
