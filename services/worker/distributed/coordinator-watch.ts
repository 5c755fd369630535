/**
 * The worker's view of the coordinator between steps: heartbeats on a timer, and the flags that
 * heartbeat replies and report acks carry — a membership change waiting for the next step
 * boundary (`pending`), a lost peer (`abort`: give up the current step now), the run's end — plus
 * detection of a coordinator that stopped answering. An abort or a lost coordinator fails the
 * collective that is waiting (see RingCollective.abort), so no step hangs on a dead peer longer
 * than a heartbeat round trip.
 */
import { Worker } from 'node:worker_threads';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { TlsSettings } from '../../core/tls.js';

/** Consecutive failed heartbeats after which the coordinator counts as lost. */
export const HEARTBEAT_FAILURES_BEFORE_LOST = 2;

export type WatchEvent = 'abort' | 'coordinator-lost' | 'identity-lost';

export interface Flags {
  rendezvousPending?: boolean;
  abort?: boolean;
  finished?: boolean;
}

/** Where and how the heartbeat thread reaches the coordinator. */
export interface WatchTarget {
  readonly address: string;
  readonly tls: TlsSettings | null;
}

export class CoordinatorWatch {
  pending = false;
  finished = false;
  /** Why the current generation must end now (null: it may go on). */
  interrupt: WatchEvent | null = null;
  private thread: Worker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(
    private readonly target: WatchTarget,
    private readonly logger: Logger,
    private readonly onInterrupt: (event: WatchEvent) => void,
  ) {}

  /**
   * Heartbeat as `workerId` every `intervalMs` (the coordinator's setting) from a separate thread
   * (heartbeat-thread.ts), reporting the generation and the step of the state held.
   */
  start(workerId: string, intervalMs: number, progress: () => { generation: number; step: number }): void {
    this.stop();
    this.failures = 0;
    const shared = new SharedArrayBuffer(16);
    const view = new Float64Array(shared);
    const publish = () => {
      const p = progress();
      view[0] = p.generation;
      view[1] = p.step;
    };
    publish();
    this.timer = setInterval(publish, intervalMs);
    this.timer.unref();
    const thread = new Worker(new URL('./heartbeat-thread.js', import.meta.url), { workerData: { address: this.target.address, tls: this.target.tls, workerId, intervalMs, progress: shared } });
    thread.on('message', (m: ({ type: 'reply' } & Flags) | { type: 'error'; code: number; message: string }) => {
      if (m.type === 'reply') {
        this.failures = 0;
        this.apply(m);
      } else this.failed(Object.assign(new Error(m.message), { code: m.code, details: m.message, metadata: new grpc.Metadata() }));
    });
    thread.on('error', (err) => this.logger.error({ err: err.message }, 'heartbeat thread failed'));
    thread.unref();
    this.thread = thread;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.thread?.postMessage('stop');
    this.thread = null;
  }

  /** A new generation starts: forget the previous one's flags. */
  reset(): void {
    this.pending = false;
    this.interrupt = null;
  }

  /** Flags from a heartbeat reply or a report ack. */
  apply(flags: Flags): void {
    if (flags.finished === true) this.finished = true;
    if (flags.rendezvousPending === true) this.pending = true;
    if (flags.abort === true) this.raise('abort');
  }

  /** A report or heartbeat call failed: classify it. */
  failed(err: grpc.ServiceError): void {
    if (err.code === grpc.status.NOT_FOUND) {
      this.raise('identity-lost');
      return;
    }
    if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED || err.code === grpc.status.CANCELLED) {
      this.failures++;
      this.logger.warn({ failures: this.failures, err: err.message }, 'coordinator did not answer');
      if (this.failures >= HEARTBEAT_FAILURES_BEFORE_LOST) this.raise('coordinator-lost');
    }
  }

  private raise(event: WatchEvent): void {
    if (this.interrupt !== null) return;
    this.interrupt = event;
    this.logger.warn({ event }, 'leaving the current step');
    this.onInterrupt(event);
  }
}
