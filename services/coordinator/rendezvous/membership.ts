/**
 * Membership and rendezvous (the TorchElastic model): workers register; once `minWorkers` are in,
 * the coordinator waits a short grace period for more (up to `maxWorkers`) and forms the first
 * ring — generation 1. Every later change of the ring goes through a *round*: it opens when a
 * worker joins, leaves, is lost (heartbeat deadline) or reports a failed collective; every live
 * member then re-joins (`arrive`), and when all have, the arrived workers form the next ring and
 * the generation increases. Messages of other generations are rejected (see errors.ts), so a
 * slow, partitioned or resumed-from-SIGSTOP worker can never act on a stale ring.
 *
 * Ring order puts the ranks of one pod next to each other (pods in natural order, so pod-10
 * follows pod-9), so in a ring all-reduce only the pod boundaries cross the network (as NCCL
 * orders rings by topology).
 */
import { randomUUID } from 'node:crypto';
import { RunFullError, StaleGenerationError, UnknownWorkerError } from '../errors.js';

export interface WorkerDescriptor {
  readonly collectiveAddress: string;
  readonly pod: string;
  readonly localIndex: number;
  readonly backend: string;
  /** The worker's compute device (GPU adapter or `cpu`); older workers do not say. */
  readonly device?: string;
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

/** Why a round was opened (logged, and counted as a restart unless it is a plain resize). */
export type RoundReason = 'initial' | 'join' | 'leave' | 'membership-change' | 'worker-lost' | 'peer-failure' | 'coordinator-lost' | 'stop';

/** Reasons that make every worker abandon its current step at once (a peer is gone). */
export const ABORTING_REASONS: readonly RoundReason[] = ['worker-lost', 'peer-failure', 'coordinator-lost'];

export interface RoundResult {
  readonly generation: number;
  readonly reason: RoundReason;
  /** Worker ids in rank order. */
  readonly ranks: readonly string[];
  /** Global step of the state each worker holds (-1: none). */
  readonly applied: ReadonlyMap<string, number>;
  readonly startedMs: number;
}

export interface MembershipOptions {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** How long the first rendezvous waits for more than `minWorkers` (torchrun's "last call"). */
  readonly rendezvousGraceMs: number;
  /** A member not heard from for this long is lost. */
  readonly heartbeatTimeoutMs: number;
  /** A round still incomplete after this long evicts the members that did not re-join. */
  readonly rendezvousTimeoutMs: number;
  /** Called when a round completes, before any waiter sees the new generation. */
  readonly onRound: (result: RoundResult) => void;
  /** Called when a ranked member is declared lost. */
  readonly onLost?: (member: Member, reason: string) => void;
  /** Called when a round timed out with fewer than `minWorkers`. */
  readonly onStarved?: (arrived: number) => void;
  /**
   * Committed progress (global step). When this many aborting rounds in a row end without
   * progress — the same ring keeps failing, e.g. two workers partitioned from each other while both
   * reach the coordinator — the member most often blamed by its peers is evicted and quarantined.
   */
  readonly progress?: () => number;
  readonly suspectRounds?: number;
  /** First quarantine of an evicted suspect (doubles for a repeat offender, up to 8×). */
  readonly quarantineMs?: number;
  readonly now?: () => number;
}

interface Round {
  reason: RoundReason;
  abort: boolean;
  readonly startedMs: number;
  readonly arrived: Map<string, number>;
  /** Collective address → how many re-joining members blamed it. */
  readonly suspects: Map<string, number>;
}

/** Aborting rounds without progress after which a suspect is evicted. */
export const DEFAULT_SUSPECT_ROUNDS = 3;
export const DEFAULT_QUARANTINE_MS = 30_000;

export class Membership {
  private readonly members = new Map<string, Member>();
  /** Worker ids in rank order for the current generation. */
  private ranks: string[] = [];
  /** Their collective addresses (kept when a ranked member is evicted mid-generation). */
  private ring: string[] = [];
  private seq = 0;
  private _generation = 0;
  private finished = false;
  private round: Round | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  /** Consecutive aborting rounds at the same committed step, and that step. */
  private failedRounds = { count: 0, progress: -1 };
  /** pod/localIndex → quarantine end (ms) and how many times it was quarantined. */
  private readonly quarantine = new Map<string, { untilMs: number; times: number }>();
  /** Cap on members; starts at `options.maxWorkers`, lowered by `lowerMaxWorkers`. */
  private maxWorkers: number;

  constructor(private readonly options: MembershipOptions) {
    if (options.minWorkers < 1 || options.maxWorkers < options.minWorkers) {
      throw new RangeError(`need 1 ≤ minWorkers (${options.minWorkers}) ≤ maxWorkers (${options.maxWorkers})`);
    }
    this.maxWorkers = options.maxWorkers;
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => this.sweep(), Math.max(50, Math.floor(options.heartbeatTimeoutMs / 4)));
    this.sweeper.unref();
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

  /** Live members (ranked or waiting to join). */
  get size(): number {
    return this.members.size;
  }

  /** The open round, if any: workers learn of it from heartbeats and report acks. */
  get pending(): { readonly reason: RoundReason; readonly abort: boolean } | null {
    return this.round === null ? null : { reason: this.round.reason, abort: this.round.abort };
  }

  /** Add a worker; it takes part in the next round (or the first rendezvous). */
  register(worker: WorkerDescriptor): string {
    if (this.finished) throw new RunFullError(this.options.maxWorkers, 'the run has finished');
    if (this.members.size >= this.maxWorkers) throw new RunFullError(this.maxWorkers);
    const q = this.quarantine.get(slotKey(worker));
    if (q !== undefined && q.untilMs > this.now()) {
      throw new RunFullError(this.maxWorkers, `${worker.pod}/${worker.localIndex} is quarantined for ${q.untilMs - this.now()} ms: its peers could not reach it`);
    }
    const workerId = randomUUID();
    this.members.set(workerId, { ...worker, workerId, joinedSeq: this.seq++, lastSeenMs: this.now() });
    if (this._generation === 0) this.maybeFirstRing();
    else {
      this.open('join', false);
      this.round!.arrived.set(workerId, -1);
      this.maybeComplete();
    }
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
    if (rank < 0) throw new UnknownWorkerError(workerId, 'not in the current ring');
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

  /**
   * A worker asks for its assignment. A ranked worker that already knows the current generation
   * is re-joining (it finished a step that raised the rendezvous flag, or its collective failed):
   * that opens a round if none is open, and counts as its arrival with the state it holds.
   */
  arrive(workerId: string, knownGeneration: number, appliedStep: number, reason: RoundReason, suspect = ''): void {
    const m = this.member(workerId);
    m.lastSeenMs = this.now();
    if (this._generation === 0 || this.finished) return;
    const ranked = this.ranks.includes(workerId);
    if (ranked && knownGeneration !== this._generation) return; // it has not seen its assignment yet
    if (this.round === null) this.open(reason, ABORTING_REASONS.includes(reason));
    this.round!.arrived.set(workerId, ranked ? appliedStep : -1);
    if (suspect !== '') this.round!.suspects.set(suspect, (this.round!.suspects.get(suspect) ?? 0) + 1);
    this.maybeComplete();
  }

  /** Open a round (no-op when one is open; `abort` escalates an open graceful round, taking `reason`). */
  open(reason: RoundReason, abort: boolean): void {
    if (this.round === null) {
      const round: Round = { reason, abort, startedMs: this.now(), arrived: new Map(), suspects: new Map() };
      this.round = round;
      const timer = setTimeout(() => this.timeoutRound(round), this.options.rendezvousTimeoutMs);
      timer.unref();
    } else if (abort && !this.round.abort) {
      // A failure during a graceful round (a join, a leave, a stop) makes it a recovery, and its
      // reason says so: the run counts it in `restarts`, not as a resize.
      this.round.abort = true;
      this.round.reason = reason;
    }
    this.notify();
  }

  /** What the worker should do now. */
  view(workerId: string): AssignmentView {
    this.member(workerId);
    const rank = this.ranks.indexOf(workerId);
    return { generation: this._generation, assigned: rank >= 0, rank: Math.max(rank, 0), worldSize: this.ranks.length, ring: [...this.ring], finished: this.finished };
  }

  /** Resolve when the worker has an assignment newer than `knownGeneration`, the run finished, or at `timeoutMs`. */
  async waitForAssignment(workerId: string, knownGeneration: number, timeoutMs: number): Promise<AssignmentView> {
    const ready = () => {
      if (!this.members.has(workerId)) return true;
      const v = this.view(workerId);
      return v.finished || (v.assigned && v.generation !== knownGeneration);
    };
    if (!ready()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const waiters = this.waiters;
        function done(): void {
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        }
        const check = () => {
          if (ready()) done();
        };
        waiters.add(check);
      });
    }
    return this.view(workerId);
  }

  /** A worker leaves; a ranked one shrinks the ring at the step boundary the others are reaching. */
  leave(workerId: string): void {
    const ranked = this.ranks.includes(workerId);
    this.member(workerId);
    this.members.delete(workerId);
    this.round?.arrived.delete(workerId);
    if (ranked && !this.finished) this.open('leave', false);
    this.maybeComplete();
  }

  /**
   * The process behind slot `pod`/`localIndex` is known to be gone (its supervisor saw it exit):
   * evict it now instead of waiting out the heartbeat deadline, so the survivors' round completes
   * at once and a replacement process can register into the freed place. Returns whether a
   * member was evicted (false: it never registered, or was already removed).
   */
  evictSlot(pod: string, localIndex: number, why: string): boolean {
    const m = [...this.members.values()].find((x) => x.pod === pod && x.localIndex === localIndex);
    if (m === undefined) return false;
    this.evict(m, why);
    return true;
  }

  /**
   * Fewer workers will ever be available (a supervisor gave up on some): lower `maxWorkers` to
   * `n`. Before the first ring this ends the wait for the missing ones at once, as torchrun's
   * rendezvous does when its last call closes.
   * @throws RangeError when `n` is below `minWorkers`: the caller must fail the run instead.
   */
  lowerMaxWorkers(n: number): void {
    if (!Number.isInteger(n) || n < this.options.minWorkers) throw new RangeError(`maxWorkers ${n} below minWorkers ${this.options.minWorkers}`);
    if (n >= this.maxWorkers) return;
    this.maxWorkers = n;
    if (this._generation === 0) this.maybeFirstRing();
  }

  /** Declare members silent for longer than the heartbeat deadline lost. */
  sweep(): void {
    const deadline = this.now() - this.options.heartbeatTimeoutMs;
    for (const m of [...this.members.values()]) {
      if (m.lastSeenMs >= deadline) continue;
      this.evict(m, `no heartbeat for ${this.now() - m.lastSeenMs} ms`);
    }
  }

  /** The run is over: wake every waiter so workers can exit. */
  finish(): void {
    this.finished = true;
    this.round = null;
    this.notify();
  }

  /** Stop timers (coordinator shutdown). */
  close(): void {
    clearInterval(this.sweeper);
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.finish();
  }

  private evict(m: Member, why: string): void {
    const ranked = this.ranks.includes(m.workerId);
    this.members.delete(m.workerId);
    this.round?.arrived.delete(m.workerId);
    if (ranked && !this.finished) {
      this.options.onLost?.(m, why);
      this.open('worker-lost', true);
    }
    this.maybeComplete();
  }

  /**
   * The same ring failing again and again at one step: evict (and quarantine) the member its peers
   * blame most, so the others can make progress. Returns true when a member was evicted (the round
   * then completes, or waits, without it).
   */
  private evictSuspect(round: Round): boolean {
    const progress = this.options.progress?.() ?? -1;
    if (progress === this.failedRounds.progress) this.failedRounds.count++;
    else this.failedRounds = { count: 1, progress };
    if (this.failedRounds.count < (this.options.suspectRounds ?? DEFAULT_SUSPECT_ROUNDS)) return false;
    const [address, votes] = [...round.suspects.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    const member = [...this.members.values()].find((m) => m.collectiveAddress === address);
    if (member === undefined) return false;
    // -1: the nested completion check inside evict() counts this same round once more.
    this.failedRounds = { count: -1, progress };
    const key = slotKey(member);
    const times = (this.quarantine.get(key)?.times ?? 0) + 1;
    this.quarantine.set(key, { untilMs: this.now() + (this.options.quarantineMs ?? DEFAULT_QUARANTINE_MS) * 2 ** Math.min(times - 1, 3), times });
    this.evict(member, `blamed by ${votes} peer(s) after rings failed repeatedly at step ${progress}`);
    return true;
  }

  private timeoutRound(round: Round): void {
    if (this.round !== round) return;
    for (const m of [...this.members.values()]) if (!round.arrived.has(m.workerId)) this.evict(m, `did not re-join within ${this.options.rendezvousTimeoutMs} ms`);
    if (this.round === round && round.arrived.size < this.options.minWorkers) this.options.onStarved?.(round.arrived.size);
  }

  private maybeFirstRing(): void {
    const n = this.members.size;
    if (n < this.options.minWorkers) return;
    if (n >= this.maxWorkers) {
      this.formRing('initial', new Map([...this.members.keys()].map((id) => [id, -1])), this.now());
      return;
    }
    if (this.graceTimer === null) {
      this.graceTimer = setTimeout(() => {
        this.graceTimer = null;
        if (this._generation === 0 && this.members.size >= this.options.minWorkers) this.formRing('initial', new Map([...this.members.keys()].map((id) => [id, -1])), this.now());
      }, this.options.rendezvousGraceMs);
    }
  }

  private maybeComplete(): void {
    const round = this.round;
    if (round === null || this.finished) return;
    const everyone = [...this.members.keys()].every((id) => round.arrived.has(id));
    if (!everyone || round.arrived.size < this.options.minWorkers) return;
    if (round.abort && this.evictSuspect(round)) return;
    this.round = null;
    this.formRing(round.reason, round.arrived, round.startedMs);
  }

  private formRing(reason: RoundReason, arrived: ReadonlyMap<string, number>, startedMs: number): void {
    if (this.graceTimer !== null) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    this.ranks = [...arrived.keys()]
      .map((id) => this.members.get(id)!)
      .sort((a, b) => comparePods(a.pod, b.pod) || a.localIndex - b.localIndex || a.joinedSeq - b.joinedSeq)
      .map((m) => m.workerId);
    this.ring = this.ranks.map((id) => this.members.get(id)!.collectiveAddress);
    this._generation++;
    this.options.onRound({ generation: this._generation, reason, ranks: [...this.ranks], applied: new Map(arrived), startedMs });
    this.notify();
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }
}

function slotKey(w: WorkerDescriptor): string {
  return `${w.pod}/${w.localIndex}`;
}

/** Natural order of pod names: numeric runs compare as numbers (worker-2 < worker-10). */
export function comparePods(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
