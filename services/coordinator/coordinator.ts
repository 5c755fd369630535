/**
 * The coordinator of one run: membership and elastic rendezvous, plans, the merged run history,
 * checkpoints, and the run's summary. Transport-free — grpc-service.ts binds it to gRPC — so the
 * same object serves `encourage coordinator` and the in-process coordinator of
 * `encourage train --workers N`.
 */
import type { Logger } from 'pino';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import type { TrainCheckpointMeta } from '../core/training/checkpoint-meta.js';
import { ConfidenceAccumulator } from '../core/training/confidence.js';
import { accuracyFigures, type RunSummary } from '../core/training/run-summary.js';
import { RunDir } from '../core/training/run-dir.js';
import { configFingerprint, serializeTrainConfig, type TrainConfig } from '../core/training/train-config.js';
import type { CoordinatorConfig } from './config.js';
import { BadReportError, JoinRejectedError, NonFiniteError, RunOverError, StarvedError } from './errors.js';
import { joinTokenMatches } from './join-token.js';
import { epochSamplesFor, epochStart, planEpoch, type RankPlan } from './planner/epoch-planner.js';
import { Membership, type AssignmentView, type RoundReason, type RoundResult, type WorkerDescriptor } from './rendezvous/membership.js';
import type { EpochAccount } from './run/run-ledger.js';
import { RunState, type EvalSumsReport, type ResumePoint, type RunCounters, type StepSums } from './run/run-state.js';

export interface RegisterInput extends WorkerDescriptor {
  readonly joinToken: string;
  readonly configFingerprint: string;
  readonly trainExamples: number;
  readonly testExamples: number;
}

/** A distributed run's summary: the shared figures plus the data-parallel and elastic ones. */
export interface CoordinatorSummary extends RunSummary, RunCounters {
  /** succeeded; failed (non-finite values, too few workers); stopped (SIGTERM, resumable). */
  readonly status: 'succeeded' | 'failed' | 'stopped';
  readonly error?: string;
  /** Workers in the final ring. */
  readonly workers: number;
  /** Per-rank mean time in the all-reduce phase, summed over steps. */
  readonly allreduceSeconds: number;
  /** Bytes sent by all ranks in all-reduces. */
  readonly allreduceBytes: number;
  /** Per-epoch sample accounting of the committed lineage. */
  readonly samples: readonly EpochAccount[];
}

/** What WaitAssignment answers: the ring plus where and how training resumes. */
export interface FullAssignment extends AssignmentView, Partial<ResumePoint> {
  readonly stop: boolean;
}

/** How long the coordinator waits for the rank that found a NaN/Inf to say where. */
const NONFINITE_DETAIL_GRACE_MS = 2_000;

/** How long a stopping coordinator waits for the final checkpoint. */
export const STOP_CHECKPOINT_TIMEOUT_MS = 120_000;

export class Coordinator {
  readonly membership: Membership;
  readonly runDir: RunDir;
  private run: RunState | null = null;
  private dataset: { train: number; test: number } | null = null;
  private resumePoint: (ResumePoint & { generation: number; stop: boolean }) | null = null;
  private resumed: { step: number; meta: TrainCheckpointMeta } | null = null;
  private stopping = false;
  private failure: Error | null = null;
  private readonly leaveWaiters: (() => void)[] = [];
  private readonly startedMs = performance.now();
  private readonly fingerprint: string;
  private readonly store: CheckpointStore;
  private backend = 'unknown';
  /** Every distinct compute device a worker of this run registered with. */
  private readonly devices = new Set<string>();
  private settled = false;
  private resolveDone!: (s: CoordinatorSummary) => void;
  /** Resolves with the run's summary when the run ends (finished, failed or stopped). */
  readonly done: Promise<CoordinatorSummary>;

  constructor(
    readonly config: TrainConfig,
    readonly settings: CoordinatorConfig,
    private readonly logger: Logger,
  ) {
    this.membership = new Membership({
      minWorkers: settings.minWorkers, maxWorkers: settings.maxWorkers, rendezvousGraceMs: settings.rendezvousGraceMs,
      heartbeatTimeoutMs: settings.heartbeatTimeoutMs, rendezvousTimeoutMs: settings.rendezvousTimeoutMs,
      onRound: (r) => this.onRound(r),
      onLost: (m, why) => {
        this.logger.warn({ workerId: m.workerId, pod: m.pod, localIndex: m.localIndex, why }, 'worker lost');
        this.run?.countLost();
      },
      onStarved: (n) => this.fail(new StarvedError(n, settings.minWorkers, settings.rendezvousTimeoutMs)),
      progress: () => this.run?.committedStep ?? 0,
    });
    this.runDir = new RunDir(config.runDir);
    this.store = new CheckpointStore(config.checkpointDir, config.checkpointsKept, logger);
    this.fingerprint = configFingerprint(config);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Prepare the run directory; with `resume`, load the newest usable checkpoint (refusing other models'). */
  async init(): Promise<void> {
    await this.runDir.init({ ...this.config, coordinator: { ...this.settings, joinToken: this.settings.joinToken === null ? null : '<set>', tls: this.settings.tls === null ? null : '<set>' } });
    if (!this.config.resume) return;
    const latest = await this.store.loadLatest<TrainCheckpointMeta>((c) => {
      if (c.meta.model !== this.config.model) throw new BadReportError(`checkpoint of another model (run: ${this.config.model})`, 'model', c.meta.model);
    });
    if (latest === null) this.logger.info({ dir: this.config.checkpointDir }, 'no usable checkpoint: starting afresh');
    else this.resumed = { step: latest.step, meta: latest.checkpoint.meta };
  }

  /** The run's configuration, for workers that present the join token. */
  describe(joinToken: string): { experiment: string; configJson: string; configFingerprint: string } {
    this.checkToken(joinToken);
    return { experiment: this.config.experiment, configJson: JSON.stringify(serializeTrainConfig(this.config)), configFingerprint: this.fingerprint };
  }

  private checkToken(token: string): void {
    if (!joinTokenMatches(this.settings.joinToken, token)) throw new JoinRejectedError('missing or wrong join token');
  }

  /** A worker joins; returns its id. Throws JoinRejectedError/RunFullError. */
  register(input: RegisterInput): string {
    this.checkToken(input.joinToken);
    if (this.stopping || this.settled) throw new RunOverError(this.config.experiment);
    if (input.configFingerprint !== '' && input.configFingerprint !== this.fingerprint) {
      throw new JoinRejectedError(`worker configured for another model/loss (fingerprint ${input.configFingerprint}, run ${this.fingerprint})`);
    }
    if (this.dataset === null) this.dataset = { train: input.trainExamples, test: input.testExamples };
    else if (this.dataset.train !== input.trainExamples || this.dataset.test !== input.testExamples) {
      throw new JoinRejectedError(`worker loaded ${input.trainExamples}/${input.testExamples} train/test examples, the run has ${this.dataset.train}/${this.dataset.test}`);
    }
    const id = this.membership.register(input);
    this.backend = input.backend;
    if (input.device !== undefined && input.device !== '') this.devices.add(input.device);
    this.logger.info({ workerId: id, pod: input.pod, localIndex: input.localIndex, address: input.collectiveAddress }, 'worker registered');
    return id;
  }

  /**
   * Long poll for an assignment newer than `known`. A ranked worker asking with the current
   * generation is re-joining after a step boundary or a failed collective (see Membership.arrive).
   */
  async waitAssignment(workerId: string, known: number, timeoutMs: number, appliedStep = -1, reason: RoundReason = 'peer-failure', suspect = ''): Promise<FullAssignment> {
    this.membership.arrive(workerId, known, appliedStep, reason, suspect);
    const view = await this.membership.waitForAssignment(workerId, known, timeoutMs);
    const r = this.resumePoint;
    if (!view.assigned || r === null || r.generation !== view.generation) return { ...view, stop: false };
    return { ...view, start: r.start, stateSourceRank: r.stateSourceRank, restoreFromCheckpoint: r.restoreFromCheckpoint, stop: r.stop };
  }

  private onRound(result: RoundResult): void {
    const run = this.ensureRun(result.ranks.length);
    const applied = result.ranks.map((id) => result.applied.get(id) ?? -1);
    const resume = run.beginGeneration(result.generation, result.reason, applied);
    this.resumePoint = { ...resume, generation: result.generation, stop: this.stopping };
  }

  private ensureRun(worldSize: number): RunState {
    if (this.run === null) {
      const dataset = this.dataset!;
      const epochSamples = this.resumed?.meta.lineage?.epochSamples ?? epochSamplesFor(this.config, dataset.train, worldSize);
      const plan = { config: this.config, trainSize: dataset.train, testSize: dataset.test, epochSamples };
      this.run = new RunState(this.config, plan, this.runDir, this.store, this.logger);
      if (this.resumed !== null) this.run.resumeFrom(this.resumed.step, this.resumed.meta);
      this.run.on('finished', () => this.settle('succeeded'));
    }
    return this.run;
  }

  /** Progress events (`step`, `epoch`, `checkpoint`) for launchers and metrics; null before the rendezvous. */
  get runState(): RunState | null {
    return this.run;
  }

  /** Cluster figures for /metrics, read at scrape time (coordinator/metrics/coordinator-metrics.ts). */
  cluster(): { generation: number; worldSize: number; restarts: number; workersLost: number; resizes: number; backend: string } {
    const c = this.run?.counters;
    return { generation: this.membership.generation, worldSize: this.membership.worldSize, restarts: c?.restarts ?? 0, workersLost: c?.workersLost ?? 0, resizes: c?.resizes ?? 0, backend: this.backend };
  }

  /** The rest of `epoch` for the caller's rank in the current generation. */
  plan(workerId: string, generation: number, epoch: number): RankPlan & { epochSamples: number } {
    this.membership.check(workerId, generation);
    const run = this.requireRun();
    const first = run.segmentStart.epoch;
    if (!Number.isInteger(epoch) || epoch < first || epoch >= this.config.epochs) throw new BadReportError(`epoch out of range [${first}, ${this.config.epochs})`, 'epoch', epoch);
    const w = this.membership.worldSize;
    const start = epochStart(run.plan, run.segmentStart, w, epoch);
    return { ...planEpoch(run.plan, start, w, this.membership.rankOf(workerId)), epochSamples: run.plan.epochSamples };
  }

  reportStep(workerId: string, generation: number, sums: StepSums): void {
    this.membership.check(workerId, generation);
    this.expectRank(workerId, sums.rank);
    this.requireRun().reportStep(sums);
  }

  reportEval(workerId: string, generation: number, sums: EvalSumsReport): void {
    this.membership.check(workerId, generation);
    this.expectRank(workerId, sums.rank);
    this.requireRun().reportEval(sums);
  }

  async saveCheckpoint(workerId: string, generation: number, step: number, bytes: Buffer): Promise<{ path: string; bytes: number }> {
    this.membership.check(workerId, generation);
    if (this.membership.rankOf(workerId) !== 0) throw new BadReportError('only rank 0 uploads checkpoints', 'rank', this.membership.rankOf(workerId));
    const saved = await this.requireRun().saveCheckpoint(step, bytes);
    // Only the stop ring's checkpoint ends a stopping run: an epoch-end checkpoint that was on its
    // way when SIGTERM came must not, or the workers would never hear that the run stopped.
    if (this.stopping && this.resumePoint?.stop === true && generation === this.resumePoint.generation) this.settle('stopped');
    return saved;
  }

  /** The newest checkpoint, for the rank that restores the run's state from it. */
  async fetchCheckpoint(workerId: string, generation: number): Promise<{ step: number; bytes: Buffer }> {
    this.membership.check(workerId, generation);
    return this.requireRun().latestCheckpointBytes();
  }

  /** Liveness; tells the worker about a pending membership change. */
  heartbeat(workerId: string): { generation: number; finished: boolean; rendezvousPending: boolean; abort: boolean } {
    this.membership.touch(workerId);
    return { generation: this.membership.generation, finished: this.settled, ...this.pendingFlags() };
  }

  /** Flags every reply to a ranked worker carries. */
  pendingFlags(): { rendezvousPending: boolean; abort: boolean } {
    const p = this.membership.pending;
    return { rendezvousPending: p !== null, abort: p?.abort ?? false };
  }

  leave(workerId: string, reason: string, detail = ''): void {
    this.membership.member(workerId);
    this.logger.info({ workerId, reason, detail }, 'worker left');
    if (reason === 'nonfinite') {
      // Every rank stops at the same step; only the rank(s) that found the value can name it.
      if (detail !== '') this.fail(new NonFiniteError(detail));
      else setTimeout(() => this.fail(new NonFiniteError('reported by a rank that left without details')), NONFINITE_DETAIL_GRACE_MS).unref();
    }
    this.membership.leave(workerId);
    if (this.membership.size === 0) for (const w of this.leaveWaiters.splice(0)) w();
  }

  /** Resolve once every worker has left, or after `timeoutMs` (shutdown grace). */
  async allLeft(timeoutMs: number): Promise<boolean> {
    if (this.membership.size === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.leaveWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * SIGTERM: stop at the next step boundary with a checkpoint, so that the run can resume.
   * Resolves with the summary (status `stopped`) once the checkpoint is written or after
   * `timeoutMs`.
   */
  async stop(timeoutMs = STOP_CHECKPOINT_TIMEOUT_MS): Promise<CoordinatorSummary> {
    if (!this.settled) {
      this.stopping = true;
      if (this.run === null || this.membership.worldSize === 0) this.settle('stopped');
      else {
        this.logger.info('stopping: the ring checkpoints at the next step boundary');
        this.membership.open('stop', false);
        const timer = setTimeout(() => {
          this.logger.warn({ timeoutMs }, 'no final checkpoint in time; stopping without it');
          this.settle('stopped');
        }, timeoutMs);
        void this.done.then(() => clearTimeout(timer));
      }
    }
    return this.done;
  }

  /**
   * A supervisor (the local launcher) saw the process of slot `pod`/`localIndex` exit: evict it
   * now rather than at the heartbeat deadline. A ranked worker counts as lost (`workersLost`) and
   * opens an aborting round, as a missed heartbeat would. Returns whether it was a member.
   */
  workerExited(pod: string, localIndex: number, why: string): boolean {
    if (this.settled) return false;
    return this.membership.evictSlot(pod, localIndex, why);
  }

  /**
   * End the run as failed with `err` (its message becomes the summary's `error`), e.g. when a
   * supervisor has too few workers left to go on. Resolves with the summary.
   */
  async failRun(err: Error): Promise<CoordinatorSummary> {
    if (!this.settled) this.fail(err);
    return this.done;
  }

  /** Whether the run has ended or is stopping: a worker exiting now is no failure. */
  get over(): boolean {
    return this.settled || this.stopping;
  }

  /** Stop waiters (shutdown path). */
  close(): void {
    this.membership.close();
  }

  private fail(err: Error): void {
    this.logger.error({ err: err.message }, 'run failed');
    this.failure = err;
    this.settle('failed');
  }

  private expectRank(workerId: string, rank: number): void {
    const actual = this.membership.rankOf(workerId);
    if (rank !== actual) throw new BadReportError(`worker has rank ${actual}`, 'rank', rank);
  }

  private requireRun(): RunState {
    if (this.run === null) throw new BadReportError('the rendezvous has not completed', 'generation', this.membership.generation);
    return this.run;
  }

  private settle(status: CoordinatorSummary['status']): void {
    if (this.settled) return;
    this.settled = true;
    const run = this.run;
    const summary: CoordinatorSummary = {
      status, ...(this.failure === null ? {} : { error: this.failure.message }),
      experiment: this.config.experiment, model: this.config.model, loss: this.config.loss.preset ?? 'custom', backend: this.backend,
      device: this.devices.size === 0 ? 'unknown' : [...this.devices].join('; '),
      workers: this.membership.worldSize, epochs: run?.history.length ?? 0, steps: run?.committedStep ?? 0,
      ...accuracyFigures(run?.history ?? []),
      imagesPerSecond: run !== null && run.totals.trainSeconds > 0 ? run.totals.trainImages / run.totals.trainSeconds : 0,
      wallSeconds: (performance.now() - this.startedMs) / 1000,
      allreduceSeconds: run?.totals.allreduceSeconds ?? 0, allreduceBytes: run?.totals.allreduceBytes ?? 0,
      restarts: 0, resizes: 0, workersLost: 0, secondsLost: 0, skippedSteps: 0, ...(run?.counters ?? {}),
      samples: run?.accounts() ?? [],
      runDir: this.config.runDir, confidence: run?.lastConfidence ?? new ConfidenceAccumulator(this.config.confidenceEdges).table(), history: run?.history ?? [],
    };
    this.runDir.record({ type: 'summary', step: summary.steps, ...summary, history: undefined, samples: undefined });
    void this.runDir.flush().then(() => {
      this.membership.finish();
      this.resolveDone(summary);
    });
  }
}
