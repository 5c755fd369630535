/**
 * Parent side of collective-worker-process.ts: forks one process per rank on loopback, wires
 * them into a ring and runs commands on all of them. Used by the multi-process tests and by
 * scripts/bench-allreduce.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EncourageError } from '../../core/errors.js';
import type { CollectiveOptions } from './collective-options.js';
import type { WorkerCommand, WorkerReply } from './collective-worker-process.js';
import { TUNED_WORKER_ENV, TUNED_WORKER_EXEC_ARGV } from './process-tuning.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./collective-worker-process.js', import.meta.url));

/** A rank's process failed a command or exited. */
export class WorkerProcessError extends EncourageError {
  override readonly name = 'WorkerProcessError';
  constructor(
    readonly rank: number,
    /** Error class name reported by the worker (e.g. CollectiveTimeoutError). */
    readonly remoteName: string,
    message: string,
  ) {
    super(`rank ${rank}: ${remoteName}: ${message}`);
  }
}

export interface WorkerRingOptions {
  readonly worldSize: number;
  readonly defaults?: Partial<CollectiveOptions>;
  readonly connectionsPerPeer?: number;
  /** Deadline of every IPC round trip, in ms. */
  readonly commandTimeoutMs?: number;
  /** Log worker diagnostics to stderr. */
  readonly log?: boolean;
  /** Start workers with the settings of process-tuning.ts (default true). */
  readonly tuned?: boolean;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;

export class WorkerRing {
  private nextId = 1;

  private constructor(
    readonly children: readonly ChildProcess[],
    readonly addresses: readonly string[],
    private readonly commandTimeoutMs: number,
  ) {}

  /** Fork `worldSize` workers, start their nodes and give them the ring (generation 1). */
  static async start(options: WorkerRingOptions): Promise<WorkerRing> {
    const tuned = options.tuned ?? true;
    // Inherit the parent's node flags (e.g. --cpu-prof), but not the test runner's own.
    const inherited = process.execArgv.filter((arg) => !arg.startsWith('--test') && !arg.startsWith('--experimental-test'));
    const execArgv = tuned ? [...inherited, ...TUNED_WORKER_EXEC_ARGV] : inherited;
    const env = tuned ? { ...process.env, ...TUNED_WORKER_ENV } : process.env;
    const children = Array.from({ length: options.worldSize }, () => fork(WORKER_SCRIPT, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const pending = new WorkerRing(children, [], timeoutMs);
    try {
      const listening = await pending.all({ type: 'start', defaults: options.defaults, connectionsPerPeer: options.connectionsPerPeer, log: options.log }, 'listening');
      const addresses = listening.map((reply) => (reply as Extract<WorkerReply, { type: 'listening' }>).address);
      const ring = new WorkerRing(children, addresses, timeoutMs);
      await ring.reconfigure(1);
      return ring;
    } catch (error) {
      for (const child of children) child.kill('SIGKILL');
      throw error;
    }
  }

  get worldSize(): number {
    return this.children.length;
  }

  /** Give every worker the ring in rank order with `generation`. */
  async reconfigure(generation: number): Promise<void> {
    await Promise.all(
      this.children.map((_, rank) =>
        this.request(rank, { type: 'membership', membership: { rank, worldSize: this.worldSize, peers: this.addresses, generation } }, 'ready'),
      ),
    );
  }

  /** A fresh command id (commands and replies are matched by it). */
  newId(): number {
    return this.nextId++;
  }

  /** Send `command` to one rank and wait for its reply of type `expect`. */
  request(rank: number, command: WorkerCommand, expect: WorkerReply['type']): Promise<WorkerReply> {
    const child = this.children[rank];
    if (child === undefined) return Promise.reject(new RangeError(`no rank ${rank}`));
    return new Promise<WorkerReply>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (reply: WorkerReply): void => {
        const id = 'id' in command ? command.id : undefined;
        const replyId = 'id' in reply ? reply.id : undefined;
        if (replyId !== id) return;
        cleanup();
        if (reply.type === 'failed') reject(new WorkerProcessError(rank, reply.name, reply.message));
        else if (reply.type !== expect) reject(new WorkerProcessError(rank, 'UnexpectedReply', `${reply.type} instead of ${expect}`));
        else resolve(reply);
      };
      const onExit = (code: number | null, signal: string | null): void => {
        cleanup();
        reject(new WorkerProcessError(rank, 'WorkerExited', `exited with ${code ?? signal}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new WorkerProcessError(rank, 'IpcTimeout', `no ${expect} reply within ${this.commandTimeoutMs} ms`));
      }, this.commandTimeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send(command);
    });
  }

  /** Send the same command to every rank (ids are shared: they belong to one collective). */
  all(command: WorkerCommand, expect: WorkerReply['type']): Promise<WorkerReply[]> {
    return Promise.all(this.children.map((_, rank) => this.request(rank, command, expect)));
  }

  /** Close every node gracefully, then make sure every process is gone. */
  async close(): Promise<void> {
    await Promise.allSettled(
      this.children.map((child, rank) => (child.connected && child.exitCode === null && child.signalCode === null ? this.request(rank, { type: 'close' }, 'closed') : undefined)),
    );
    await Promise.all(
      this.children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            // A closed worker exits by itself (letting --cpu-prof write its profile); signals are
            // the fallback for one that does not.
            const term = setTimeout(() => child.kill('SIGTERM'), 3000);
            const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
            child.once('exit', () => {
              clearTimeout(term);
              clearTimeout(kill);
              resolve();
            });
          }),
      ),
    );
  }
}
