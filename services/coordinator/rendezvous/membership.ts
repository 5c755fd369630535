/**
 * Membership and rendezvous (the torchrun/TorchElastic model): workers register, and once
 * `minWorkers` are in, the coordinator waits a short grace period for more (up to `maxWorkers`)
 * before it assigns ranks, a ring order and a new *generation*. Every later membership change
 * bumps the generation; messages of other generations are rejected (see errors.ts).
 *
 * Ring order puts the ranks of one pod next to each other, so in a ring all-reduce only the pod
 * boundaries cross the network (as NCCL orders rings by topology).
 */
import { randomUUID } from 'node:crypto';
import { RunFullError, StaleGenerationError, UnknownWorkerError } from '../errors.js';

export interface WorkerDescriptor {
  readonly collectiveAddress: string;
  readonly pod: string;
  readonly localIndex: number;
  readonly backend: string;
}

export interface Member extends WorkerDescriptor {
  readonly workerId: string;
  /** Registration order, for a stable tie-break. */
  readonly joinedSeq: number;
  lastSeenMs: number;
}

export interface AssignmentView {
  readonly generation: number;
  readonly assigned: boolean;
  readonly rank: number;
  readonly worldSize: number;
  readonly ring: readonly string[];
  readonly finished: boolean;
}

export interface MembershipOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** How long to wait for more workers once `minWorkers` are in (torchrun's "last call"). */
  readonly rendezvousGraceMs: number;
  readonly now?: () => number;
}

export class Membership {
  private readonly members = new Map<string, Member>();
  /** Worker ids in rank order for the current generation. */
  private ranks: string[] = [];
  private seq = 0;
  private _generation = 0;
  private finished = false;
  private graceTimer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly options: MembershipOptions) {
    if (options.minWorkers < 1 || options.maxWorkers < options.minWorkers) {
      throw new RangeError(`need 1 ≤ minWorkers (${options.minWorkers}) ≤ maxWorkers (${options.maxWorkers})`);
    }
    this.now = options.now ?? Date.now;
  }

  get generation(): number {
    return this._generation;
  }

  get worldSize(): number {
    return this.ranks.length;
  }

  /** Worker ids in rank order. */
  get rankOrder(): readonly string[] {
    return this.ranks;
  }

  /** Add a worker; starts (or completes) the rendezvous. */
  register(worker: WorkerDescriptor): string {
    if (this.members.size >= this.options.maxWorkers || (this._generation > 0 && this.ranks.length > 0)) {
      throw new RunFullError(this.options.maxWorkers);
    }
    const workerId = randomUUID();
    this.members.set(workerId, { ...worker, workerId, joinedSeq: this.seq++, lastSeenMs: this.now() });
    this.maybeAssign();
    return workerId;
  }

  member(workerId: string): Member {
    const m = this.members.get(workerId);
    if (m === undefined) throw new UnknownWorkerError(workerId);
    return m;
  }

  /** Rank of an assigned worker in the current generation. */
  rankOf(workerId: string): number {
    this.member(workerId);
    const rank = this.ranks.indexOf(workerId);
    if (rank < 0) throw new UnknownWorkerError(workerId);
    return rank;
  }

  /** Throw unless `generation` is the current one and the worker is a member. */
  check(workerId: string, generation: number): Member {
    const m = this.member(workerId);
    if (generation !== this._generation) throw new StaleGenerationError(generation, this._generation, workerId);
    m.lastSeenMs = this.now();
    return m;
  }

  /** Mark the worker alive. */
  touch(workerId: string): void {
    this.member(workerId).lastSeenMs = this.now();
  }

  /** What the worker should do now. */
  view(workerId: string): AssignmentView {
    this.member(workerId);
    const rank = this.ranks.indexOf(workerId);
    const ring = this.ranks.map((id) => this.members.get(id)!.collectiveAddress);
    return { generation: this._generation, assigned: rank >= 0, rank: Math.max(rank, 0), worldSize: this.ranks.length, ring, finished: this.finished };
  }

  /** Resolve when the worker's view differs from `knownGeneration` (or at `timeoutMs`). */
  async waitForAssignment(workerId: string, knownGeneration: number, timeoutMs: number): Promise<AssignmentView> {
    const ready = () => {
      const v = this.view(workerId);
      return v.finished || (v.assigned && v.generation !== knownGeneration);
    };
    if (!ready()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        function done(): void {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
        const waiters = this.waiters;
        const check = () => {
          if (ready()) done();
        };
        waiters.add(check);
      });
    }
    return this.view(workerId);
  }

  /** The run is over: wake every waiter so workers can exit. */
  finish(): void {
    this.finished = true;
    this.notify();
  }

  /** Stop timers (coordinator shutdown). */
  close(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.finish();
  }

  private maybeAssign(): void {
    const n = this.members.size;
    if (this._generation > 0 || n < this.options.minWorkers) return;
    if (n >= this.options.maxWorkers) {
      this.assign();
      return;
    }
    if (this.graceTimer === null) this.graceTimer = setTimeout(() => this.assign(), this.options.rendezvousGraceMs);
  }

  private assign(): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.ranks = [...this.members.values()]
      .sort((a, b) => (a.pod < b.pod ? -1 : a.pod > b.pod ? 1 : a.localIndex - b.localIndex || a.joinedSeq - b.joinedSeq))
      .map((m) => m.workerId);
    this._generation++;
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
