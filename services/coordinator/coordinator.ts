/**
 * The coordinator of one run: membership and rendezvous, per-epoch plans, the merged run history,
 * checkpoints, and the run's summary. Transport-free — grpc-service.ts binds it to gRPC — so the
 * same object serves `encourage coordinator` and the in-process coordinator of
 * `encourage train --workers N`.
 */
import type { Logger } from 'pino';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { accuracyFigures, type RunSummary } from '../core/training/run-summary.js';
import { RunDir } from '../core/training/run-dir.js';
import { configFingerprint, serializeTrainConfig, type TrainConfig } from '../core/training/train-config.js';
import type { CoordinatorConfig } from './config.js';
import { BadReportError, JoinRejectedError } from './errors.js';
import { planEpoch, type RankPlan } from './planner/epoch-planner.js';
import { Membership, type AssignmentView, type WorkerDescriptor } from './rendezvous/membership.js';
import { RunState, type EvalSumsReport, type StepSums } from './run/run-state.js';

export interface RegisterInput extends WorkerDescriptor {
  readonly joinToken: string;
  readonly configFingerprint: string;
  readonly trainExamples: number;
  readonly testExamples: number;
}

/** A distributed run's summary: the shared figures plus the data-parallel ones. */
export interface CoordinatorSummary extends RunSummary {
  readonly workers: number;
  /** Per-rank mean time in the all-reduce phase, summed over steps. */
  readonly allreduceSeconds: number;
  /** Bytes sent by all ranks in all-reduces. */
  readonly allreduceBytes: number;
}

export class Coordinator {
  readonly membership: Membership;
  readonly runDir: RunDir;
  private run: RunState | null = null;
  private dataset: { train: number; test: number } | null = null;
  private readonly left = new Set<string>();
  private readonly leaveWaiters: (() => void)[] = [];
  private readonly startedMs = performance.now();
  private readonly fingerprint: string;
  private backend = 'unknown';
  /** Ring re-formations after a failure, and workers declared lost: incremented by the elastic membership logic. */
  private restarts = 0;
  private workersLost = 0;
  private resolveDone!: (s: CoordinatorSummary) => void;
  /** Resolves with the run's summary when the last epoch has been evaluated. */
  readonly done: Promise<CoordinatorSummary>;

  constructor(
    readonly config: TrainConfig,
    readonly settings: CoordinatorConfig,
    private readonly logger: Logger,
  ) {
    this.membership = new Membership({ minWorkers: settings.minWorkers, maxWorkers: settings.maxWorkers, rendezvousGraceMs: settings.rendezvousGraceMs });
    this.runDir = new RunDir(config.runDir);
    this.fingerprint = configFingerprint(config);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Prepare the run directory. */
  async init(): Promise<void> {
    await this.runDir.init({ ...this.config, coordinator: { ...this.settings, joinToken: this.settings.joinToken === null ? null : '<set>' } });
  }

  /** The run's configuration, for workers that present the join token. */
  describe(joinToken: string): { experiment: string; configJson: string; configFingerprint: string } {
    this.checkToken(joinToken);
    return { experiment: this.config.experiment, configJson: JSON.stringify(serializeTrainConfig(this.config)), configFingerprint: this.fingerprint };
  }

  private checkToken(token: string): void {
    if (this.settings.joinToken !== null && token !== this.settings.joinToken) throw new JoinRejectedError('missing or wrong join token');
  }

  /** A worker joins; returns its id. Throws JoinRejectedError/RunFullError. */
  register(input: RegisterInput): string {
    this.checkToken(input.joinToken);
    if (input.configFingerprint !== '' && input.configFingerprint !== this.fingerprint) {
      throw new JoinRejectedError(`worker configured for another model/loss (fingerprint ${input.configFingerprint}, run ${this.fingerprint})`);
    }
    if (this.dataset === null) this.dataset = { train: input.trainExamples, test: input.testExamples };
    else if (this.dataset.train !== input.trainExamples || this.dataset.test !== input.testExamples) {
      throw new JoinRejectedError(`worker loaded ${input.trainExamples}/${input.testExamples} train/test examples, the run has ${this.dataset.train}/${this.dataset.test}`);
    }
    const id = this.membership.register(input);
    this.backend = input.backend;
    this.logger.info({ workerId: id, pod: input.pod, localIndex: input.localIndex, address: input.collectiveAddress }, 'worker registered');
    return id;
  }

  /** Long poll for an assignment newer than `known`. */
  async waitAssignment(workerId: string, known: number, timeoutMs: number): Promise<AssignmentView> {
    const view = await this.membership.waitForAssignment(workerId, known, timeoutMs);
    if (view.assigned) this.ensureRun(view.worldSize);
    return view;
  }

  private ensureRun(worldSize: number): RunState {
    if (this.run === null) {
      const plan = { config: this.config, trainSize: this.dataset!.train, testSize: this.dataset!.test, worldSize };
      const store = new CheckpointStore(this.config.checkpointDir, this.config.checkpointsKept, this.logger);
      this.run = new RunState(this.config, plan, this.runDir, store, this.logger);
      this.run.on('finished', () => this.finish());
      this.logger.info({ worldSize, generation: this.membership.generation, ring: this.membership.rankOrder.length }, 'rendezvous complete');
    }
    return this.run;
  }

  /** Cluster figures for /metrics, read at scrape time (coordinator/metrics/coordinator-metrics.ts). */
  cluster(): { generation: number; worldSize: number; restarts: number; workersLost: number; backend: string } {
    return { generation: this.membership.generation, worldSize: this.membership.worldSize, restarts: this.restarts, workersLost: this.workersLost, backend: this.backend };
  }

  /** Progress events (`step`, `epoch`) for launchers and metrics; null before the rendezvous. */
  get runState(): RunState | null {
    return this.run;
  }

  plan(workerId: string, generation: number, epoch: number): RankPlan {
    this.membership.check(workerId, generation);
    if (!Number.isInteger(epoch) || epoch < 0 || epoch >= this.config.epochs) throw new BadReportError(`epoch out of range [0, ${this.config.epochs})`, 'epoch', epoch);
    return planEpoch(this.requireRun().plan, epoch, this.membership.rankOf(workerId));
  }

  async reportStep(workerId: string, generation: number, sums: StepSums): Promise<void> {
    this.membership.check(workerId, generation);
    this.expectRank(workerId, sums.rank);
    await this.requireRun().reportStep(sums);
  }

  async reportEval(workerId: string, generation: number, sums: EvalSumsReport): Promise<void> {
    this.membership.check(workerId, generation);
    this.expectRank(workerId, sums.rank);
    await this.requireRun().reportEval(sums);
  }

  async saveCheckpoint(workerId: string, generation: number, step: number, bytes: Buffer): Promise<{ path: string; bytes: number }> {
    this.membership.check(workerId, generation);
    if (this.membership.rankOf(workerId) !== 0) throw new BadReportError('only rank 0 uploads checkpoints', 'rank', this.membership.rankOf(workerId));
    return this.requireRun().saveCheckpoint(step, bytes);
  }

  heartbeat(workerId: string): { generation: number; finished: boolean } {
    this.membership.touch(workerId);
    return { generation: this.membership.generation, finished: this.run?.finished ?? false };
  }

  leave(workerId: string, reason: string): void {
    this.membership.member(workerId);
    this.left.add(workerId);
    this.logger.info({ workerId, reason }, 'worker left');
    if (this.membership.rankOrder.every((id) => this.left.has(id))) for (const w of this.leaveWaiters.splice(0)) w();
  }

  /** Resolve once every ranked worker has left, or after `timeoutMs` (shutdown grace). */
  async allLeft(timeoutMs: number): Promise<boolean> {
    if (this.membership.rankOrder.every((id) => this.left.has(id))) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.leaveWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stop waiters (shutdown path). */
  close(): void {
    this.membership.close();
  }

  private expectRank(workerId: string, rank: number): void {
    const actual = this.membership.rankOf(workerId);
    if (rank !== actual) throw new BadReportError(`worker has rank ${actual}`, 'rank', rank);
  }

  private requireRun(): RunState {
    if (this.run === null) throw new BadReportError('the rendezvous has not completed', 'generation', this.membership.generation);
    return this.run;
  }

  private finish(): void {
    const run = this.requireRun();
    const summary: CoordinatorSummary = {
      experiment: this.config.experiment, model: this.config.model, loss: this.config.loss.preset ?? 'custom', backend: this.backend,
      workers: run.plan.worldSize, epochs: run.history.length, steps: run.history.at(-1)?.step ?? 0,
      ...accuracyFigures(run.history),
      imagesPerSecond: run.totals.trainSeconds > 0 ? run.totals.trainImages / run.totals.trainSeconds : 0,
      wallSeconds: (performance.now() - this.startedMs) / 1000,
      allreduceSeconds: run.totals.allreduceSeconds, allreduceBytes: run.totals.allreduceBytes,
      runDir: this.config.runDir, confidence: run.lastConfidence, history: run.history,
    };
    this.runDir.record({ type: 'summary', step: summary.steps, ...summary, history: undefined });
    void this.runDir.flush().then(() => {
      this.membership.finish();
      this.resolveDone(summary);
    });
  }
}
