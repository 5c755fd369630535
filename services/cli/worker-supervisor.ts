/**
 * Supervision of the local launcher's worker processes — torchrun's elastic agent on one machine.
 * A worker that dies (a signal, or a non-zero exit) while the run goes on is restarted after a
 * backoff, as long as the run's restart budget (`--max-restarts`, over all workers) lasts; after
 * that it stays down. A worker that exits 0 mid-run left on purpose (it got SIGTERM: a clean
 * leave, the ring shrinks) and is not restarted. What this means for the run — evict the dead
 * worker from the ring now, go on with fewer, or stop — is the launcher's call (`onExit`).
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { restartBackoffMs } from './config.js';
import { describeExit } from './errors.js';
import { WorkerOutput } from './worker-output.js';

/** One worker process that ended while the run was going on, and what the launcher did about it. */
export interface WorkerExit {
  /** The worker's `--local-index`. */
  readonly worker: number;
  readonly code: number | null;
  readonly signal: string | null;
  /** Committed global step of the run when it exited. */
  readonly atStep: number;
  /** `restarted`; `given-up` (restart budget used up); `left` (exit 0: it left on purpose). */
  readonly action: 'restarted' | 'given-up' | 'left';
  /** Its last meaningful log line (worker-output.ts). */
  readonly lastLogLine: string;
}

export interface SupervisorOptions {
  readonly workers: number;
  readonly maxRestarts: number;
  /** Start worker `index`; `incarnation` counts its restarts. The child's stderr must be a pipe. */
  readonly start: (index: number, incarnation: number) => ChildProcess;
  /** Where worker `index`'s stderr lines go. */
  readonly relay: (index: number, line: string) => void;
  /** Whether the run has ended or is stopping: exits are then expected, nothing is restarted. */
  readonly runOver: () => boolean;
  /** Committed step of the run, for the exit records. */
  readonly progress: () => number;
  /** A worker died or left mid-run (called before its restart is scheduled); `remaining` counts the workers not given up or gone. */
  readonly onExit: (exit: WorkerExit, remaining: number) => void;
  readonly logger: Logger;
}

interface Slot {
  readonly index: number;
  child: ChildProcess | null;
  closed: Promise<void>;
  output: WorkerOutput | null;
  restarts: number;
  state: 'running' | 'restarting' | 'given-up' | 'left' | 'ended';
  timer: NodeJS.Timeout | null;
}

export class WorkerSupervisor {
  private readonly slots: Slot[];
  private restartsUsed = 0;
  private stopping = false;
  /** Every mid-run exit, in order. */
  readonly exits: WorkerExit[] = [];

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.workers }, (_, index) => ({ index, child: null, closed: Promise.resolve(), output: null, restarts: 0, state: 'running', timer: null }));
  }

  /** Start every worker. */
  start(): void {
    for (const slot of this.slots) this.spawn(slot);
  }

  /** Restarts made so far, over all workers. */
  get restarts(): number {
    return this.restartsUsed;
  }

  /** Workers that are running or about to be restarted. */
  get remaining(): number {
    return this.slots.filter((s) => s.state === 'running' || s.state === 'restarting').length;
  }

  /** Process ids of the running workers, by index (null: not running). */
  pids(): (number | null)[] {
    return this.slots.map((s) => s.child?.pid ?? null);
  }

  /**
   * The run is over: restart nothing more and wait for every worker to exit, killing those still
   * running after `graceMs` (SIGKILL).
   */
  async drain(graceMs: number): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.timer !== null) clearTimeout(slot.timer);
      slot.timer = null;
    }
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (child === null) return;
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await slot.closed;
        clearTimeout(timer);
      }),
    );
  }

  /** Kill every worker now (a failure of the launcher itself) and wait for them to be gone. */
  async killAll(): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) slot.child?.kill('SIGKILL');
    await this.drain(0);
  }

  private spawn(slot: Slot): void {
    slot.timer = null;
    slot.state = 'running';
    const child = this.options.start(slot.index, slot.restarts);
    slot.child = child;
    slot.output = new WorkerOutput(child.stderr!, (line) => this.options.relay(slot.index, line));
    this.options.logger.info({ worker: slot.index, workerPid: child.pid, incarnation: slot.restarts }, slot.restarts === 0 ? 'worker started' : 'worker restarted');
    child.on('error', (err) => this.options.logger.error({ worker: slot.index, err: err.message }, 'could not start the worker process'));
    // 'close', not 'exit': by then its stderr is drained, so the last log line is complete.
    slot.closed = new Promise((resolve) => child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      slot.child = null;
      this.closed(slot, code, signal);
      resolve();
    }));
  }

  private closed(slot: Slot, code: number | null, signal: string | null): void {
    if (this.stopping || this.options.runOver()) {
      slot.state = 'ended';
      return;
    }
    const failed = code !== 0 || signal !== null;
    let action: WorkerExit['action'];
    if (!failed) action = 'left';
    else if (this.restartsUsed < this.options.maxRestarts) action = 'restarted';
    else action = 'given-up';
    slot.state = action === 'restarted' ? 'restarting' : action;
    const exit: WorkerExit = { worker: slot.index, code, signal, atStep: this.options.progress(), action, lastLogLine: slot.output?.lastLine() ?? '' };
    this.exits.push(exit);
    const log = { worker: slot.index, exit: describeExit(code, signal), step: exit.atStep, lastLogLine: exit.lastLogLine, restarts: this.restartsUsed, maxRestarts: this.options.maxRestarts };
    if (action === 'left') this.options.logger.warn(log, 'worker left the run (exit 0): not restarted');
    else if (action === 'given-up') this.options.logger.error(log, 'worker died and the restart budget is used up: not restarting it');
    this.options.onExit(exit, this.remaining);
    if (action !== 'restarted' || this.stopping || this.options.runOver()) return;
    this.restartsUsed++;
    slot.restarts++;
    const backoffMs = restartBackoffMs(slot.restarts);
    this.options.logger.warn({ ...log, restarts: this.restartsUsed, backoffMs }, 'worker died: restarting it');
    slot.timer = setTimeout(() => {
      if (this.stopping || this.options.runOver()) slot.state = 'ended';
      else this.spawn(slot);
    }, backoffMs);
  }
}
