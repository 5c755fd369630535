/**
 * The run as the coordinator sees it: it merges every rank's per-step and evaluation sums into one
 * history (the same `metrics.jsonl` records as a single-process run), writes the checkpoints rank 0
 * streams in, and decides — at every rendezvous round — where the new ring resumes: from the most
 * advanced in-memory state a re-joining worker holds (elastic Horovod's "restore from the last
 * commit"), else from the newest checkpoint, else from the seeded initialisation.
 *
 * A step is committed when every rank of the ring has reported it; after a lost rank, the steps a
 * survivor has already applied are finalised from the reports that arrived (`partial`).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { decodeCheckpoint, type Checkpoint } from '../../core/checkpoint/checkpoint-file.js';
import type { CheckpointStore } from '../../core/checkpoint/checkpoint-store.js';
import type { EpochRecord, RunLineage, TrainCheckpointMeta } from '../../core/training/checkpoint-meta.js';
import { ConfidenceAccumulator, type ConfidenceTable } from '../../core/training/confidence.js';
import type { EvalSums } from '../../core/training/loss-sums.js';
import type { TrainConfig } from '../../core/training/train-config.js';
import type { RunDir } from '../../core/training/run-dir.js';
import { BadReportError } from '../errors.js';
import { epochOrder, evaluatesAfter, rankExamples, stepIndexSum, stepSpan, stepsPerEpoch, type Cursor, type PlanContext } from '../planner/epoch-planner.js';
import { ABORTING_REASONS, type RoundReason } from '../rendezvous/membership.js';
import { RunLedger, type EpochAccount } from './run-ledger.js';
import { mergeStepReports, type StepSums } from './step-merge.js';

export type { StepSums } from './step-merge.js';

/** One rank's evaluation sums (the EvalReport message, decoded). */
export interface EvalSumsReport extends EvalSums {
  rank: number;
  epoch: number;
  paramsDigest: string;
}

export interface RunTotals {
  trainSeconds: number;
  trainImages: number;
  allreduceSeconds: number;
  allreduceBytes: number;
}

/** Elastic figures of the run (in the summary and in checkpoints). */
export interface RunCounters {
  /** Recoveries from a lost worker, failed collective or coordinator restart. */
  restarts: number;
  /** Ring changes by a worker joining or leaving cleanly. */
  resizes: number;
  workersLost: number;
  /** Wall time without committed progress because of failures (detection, rendezvous, redone work). */
  secondsLost: number;
  skippedSteps: number;
}

/** Where a new ring starts and how its ranks get their state. */
export interface ResumePoint {
  readonly start: Cursor;
  /** Rank whose in-memory state all ranks adopt; -1: checkpoint or seeded initialisation. */
  readonly stateSourceRank: number;
  readonly restoreFromCheckpoint: boolean;
}

/** How long a checkpoint upload waits for its epoch's last reports (they are in flight). */
const EPOCH_CLOSE_WAIT_MS = 30_000;

interface CachedCheckpoint {
  readonly step: number;
  readonly meta: TrainCheckpointMeta;
}

/** Emits `step` ({step, epoch, stepsPerEpoch, loss, accuracy, imagesPerSecond}), `epoch` (EpochRecord), `checkpoint` and `finished`. */
export class RunState extends EventEmitter {
  history: EpochRecord[] = [];
  readonly totals: RunTotals = { trainSeconds: 0, trainImages: 0, allreduceSeconds: 0, allreduceBytes: 0 };
  readonly counters: RunCounters = { restarts: 0, resizes: 0, workersLost: 0, secondsLost: 0, skippedSteps: 0 };
  lastConfidence: ConfidenceTable;
  lastCheckpointStep: number | null = null;
  finished = false;
  /** Highest committed global step. */
  committedStep = 0;
  private ledger: RunLedger;
  private worldSize = 0;
  private generation = 0;
  private readonly closed = new Set<number>();
  private readonly steps = new Map<number, StepSums[]>();
  private readonly evals = new Map<number, EvalSumsReport[]>();
  /** Every rank's evaluation of an epoch whose last step is not committed yet. */
  private evaluated: { epoch: number; list: EvalSumsReport[] } | null = null;
  private epochTrain = { loss: 0, base: 0, bonus: 0, correct: 0, examples: 0, seconds: 0 };
  private epochConfidence: ConfidenceAccumulator;
  private checkpoint: CachedCheckpoint | null = null;
  private lastCommitMs = Date.now();
  private lostSinceMs: number | null = null;
  private orders = new Map<number, Int32Array>();
  /** This coordinator resumed a run another incarnation of it was driving (counted as a restart once). */
  private restartedCoordinator = false;

  constructor(
    readonly config: TrainConfig,
    readonly plan: PlanContext,
    private readonly runDir: RunDir,
    private readonly store: CheckpointStore,
    private readonly logger: Logger,
  ) {
    super();
    this.ledger = new RunLedger(plan);
    this.epochConfidence = new ConfidenceAccumulator(config.confidenceEdges);
    this.lastConfidence = this.epochConfidence.table();
  }

  /** Steps per epoch of the current ring (progress displays). */
  get stepsPerEpoch(): number {
    return stepsPerEpoch(this.plan, Math.max(1, this.worldSize));
  }

  /** Start of the current generation's training. */
  get segmentStart(): Cursor {
    return this.ledger.current?.start ?? { step: 0, epoch: 0, position: 0 };
  }

  /** Per-epoch sample accounting of the committed lineage. */
  accounts(): EpochAccount[] {
    return this.ledger.accounts(this.committedStep);
  }

  /**
   * Continue a run from a checkpoint loaded at start-up (a restarted coordinator): its books are
   * adopted and metrics recorded after it are dropped; the first ring restores from it.
   */
  resumeFrom(step: number, meta: TrainCheckpointMeta): void {
    this.adopt({ step, meta });
    this.logged(this.runDir.truncateAfter(step));
    this.restartedCoordinator = true;
    this.lostSinceMs = meta.lineage?.savedAtMs ?? Date.now();
    this.logger.info({ step, epoch: meta.epoch + 1, position: meta.position }, 'resuming the run from its checkpoint');
  }

  /**
   * Roll the run's books back to a checkpoint (its history, lineage and counters), or — with null —
   * to empty books, for a run that restarts from its initialisation (counters are kept: they
   * describe this run's life, not its lineage).
   */
  private adopt(ckpt: CachedCheckpoint | null): void {
    const meta = ckpt?.meta;
    const lineage: RunLineage | undefined = meta?.lineage;
    this.checkpoint = ckpt;
    this.lastCheckpointStep = ckpt?.step ?? null;
    this.committedStep = ckpt?.step ?? 0;
    this.history = [...(meta?.history ?? [])];
    this.totals.trainSeconds = meta?.trainSeconds ?? 0;
    this.totals.trainImages = meta?.trainImages ?? 0;
    this.closed.clear();
    for (const e of lineage?.closedEpochs ?? this.history.map((h) => h.epoch)) this.closed.add(e - 1);
    if (lineage !== undefined) {
      Object.assign(this.counters, { restarts: lineage.restarts, resizes: lineage.resizes, workersLost: lineage.workersLost, secondsLost: lineage.secondsLost, skippedSteps: lineage.skippedSteps });
      this.totals.allreduceSeconds = lineage.allreduceSeconds;
      this.totals.allreduceBytes = lineage.allreduceBytes;
      this.ledger = RunLedger.from(this.plan, lineage.segments);
    } else if (ckpt !== null && meta !== undefined) {
      this.ledger = RunLedger.from(this.plan, [{ generation: 0, worldSize: Math.max(1, meta.worldSize), start: { step: ckpt.step, epoch: meta.epoch, position: meta.position } }]);
    } else {
      this.ledger = new RunLedger(this.plan);
    }
    this.steps.clear();
    this.evals.clear();
    this.evaluated = null;
    this.resetEpochSums();
  }

  /**
   * A rendezvous round completed: decide where the new ring resumes. `applied` lists, in rank
   * order, the global step of the state each member holds (-1: none).
   */
  beginGeneration(generation: number, reason: RoundReason, applied: readonly number[]): ResumePoint {
    const best = Math.max(-1, ...applied);
    let stateSourceRank = -1;
    let restoreFromCheckpoint = false;
    if (best >= 0 && best >= this.committedStep) {
      stateSourceRank = applied.indexOf(best);
      this.finalizeThrough(best);
    } else if (this.checkpoint !== null && (this.committedStep > 0 || best < 0)) {
      if (this.committedStep !== this.checkpoint.step) this.logger.warn({ committed: this.committedStep, checkpoint: this.checkpoint.step }, 'no re-joining worker holds the committed state: rolling back to the checkpoint');
      this.adopt(this.checkpoint);
      restoreFromCheckpoint = true;
      this.logged(this.runDir.truncateAfter(this.checkpoint.step));
    } else if (this.committedStep > 0) {
      this.logger.warn({ committed: this.committedStep }, 'no state and no checkpoint survived: restarting the run from its initialisation');
      this.adopt(null);
      this.logged(this.runDir.truncateAfter(0));
    }
    let start = this.ledger.cursorAt(this.committedStep);
    if (start.position >= this.plan.epochSamples && this.closed.has(start.epoch)) start = { step: start.step, epoch: start.epoch + 1, position: 0 };
    this.steps.clear();
    this.evals.clear();
    this.evaluated = null;
    this.ledger.begin(generation, applied.length, start);
    this.worldSize = applied.length;
    this.generation = generation;
    if (this.restartedCoordinator) {
      this.restartedCoordinator = false;
      this.counters.restarts++;
    } else if (ABORTING_REASONS.includes(reason)) {
      this.counters.restarts++;
      this.lostSinceMs ??= this.lastCommitMs;
    } else if (reason !== 'initial' && reason !== 'stop') this.counters.resizes++;
    this.runDir.record({ type: 'rendezvous', step: start.step, generation, reason, workers: applied.length, epoch: start.epoch + 1, position: start.position, stateSourceRank, restoreFromCheckpoint });
    this.logger.info({ generation, reason, workers: applied.length, start, stateSourceRank, restoreFromCheckpoint }, 'new ring');
    if (start.epoch >= this.config.epochs && !this.finished) this.markFinished();
    return { start, stateSourceRank, restoreFromCheckpoint };
  }

  /** A rank lost by heartbeat or rendezvous deadline. */
  countLost(): void {
    this.counters.workersLost++;
    this.lostSinceMs ??= this.lastCommitMs;
  }

  /** Commit (partially, from the reports that arrived) every pending step up to `step`; forget the rest. */
  private finalizeThrough(step: number): void {
    for (const k of [...this.steps.keys()].sort((a, b) => a - b)) {
      const list = this.steps.get(k)!;
      this.steps.delete(k);
      if (k <= step && k === this.committedStep + 1) this.commit(list);
    }
    // Steps no report of which arrived (every reporter died) still happened on the survivors.
    if (step > this.committedStep) this.committedStep = step;
    this.maybeCloseUnevaluated();
  }

  private order(epoch: number): Int32Array {
    let o = this.orders.get(epoch);
    if (o === undefined) {
      if (this.orders.size > 2) this.orders.clear();
      o = epochOrder(this.plan, epoch);
      this.orders.set(epoch, o);
    }
    return o;
  }

  /** Add one rank's step report; when every rank has reported the step, merge and record it. */
  reportStep(r: StepSums): void {
    const bins = this.config.confidenceEdges.length - 1;
    if (r.binCounts.length !== bins || r.binGradNormSums.length !== bins) throw new BadReportError(`expected ${bins} confidence bins`, 'binCounts', r.binCounts.length);
    if (r.step <= this.committedStep || r.step <= this.segmentStart.step) throw new BadReportError(`already committed (committed through step ${this.committedStep})`, 'step', r.step);
    let before = this.ledger.cursorAt(r.step - 1);
    if (before.position >= this.plan.epochSamples) before = { step: before.step, epoch: before.epoch + 1, position: 0 };
    if (before.epoch >= this.config.epochs) throw new BadReportError(`beyond the run's ${this.config.epochs} epochs`, 'step', r.step);
    if (r.epoch !== before.epoch + 1) throw new BadReportError(`step ${r.step} belongs to epoch ${before.epoch + 1}`, 'epoch', r.epoch);
    const span = stepSpan(this.plan, before.position, this.worldSize);
    const examples = rankExamples(span, this.worldSize, r.rank);
    if (r.examples !== examples) throw new BadReportError(`rank ${r.rank} should have trained on ${examples} examples in step ${r.step}`, 'examples', r.examples);
    const indexSum = stepIndexSum(this.order(before.epoch), this.plan, before.position, this.worldSize, r.rank);
    if (r.indexSum !== indexSum) throw new BadReportError(`rank ${r.rank} trained on other samples than planned for step ${r.step} (index sum ${indexSum})`, 'indexSum', r.indexSum);
    const list = this.gather(this.steps, r.step, r, 'step');
    if (list !== null) {
      if (r.step !== this.committedStep + 1) throw new BadReportError(`complete before step ${this.committedStep + 1}`, 'step', r.step);
      this.commit(list);
      this.maybeCloseUnevaluated();
    }
  }

  /**
   * Collect one report per rank under `key`; returns every rank's report once the last one has
   * arrived (and forgets them), else null. Rejects ranks out of range and duplicates.
   */
  private gather<T extends { rank: number }>(pending: Map<number, T[]>, key: number, report: T, field: 'step' | 'epoch'): T[] | null {
    if (report.rank >= this.worldSize) throw new BadReportError(`rank out of range for world size ${this.worldSize}`, 'rank', report.rank);
    const list = pending.get(key) ?? [];
    if (list.some((x) => x.rank === report.rank)) throw new BadReportError(`duplicate report from rank ${report.rank}`, field, key);
    list.push(report);
    if (list.length < this.worldSize) {
      pending.set(key, list);
      return null;
    }
    pending.delete(key);
    return list;
  }

  private commit(list: StepSums[]): void {
    const m = mergeStepReports(this.config.confidenceEdges, list, this.worldSize, this.generation);
    this.committedStep = m.record.step;
    this.lastCommitMs = Date.now();
    if (this.lostSinceMs !== null) {
      this.counters.secondsLost += (this.lastCommitMs - this.lostSinceMs) / 1000;
      this.lostSinceMs = null;
    }
    if (list[0]!.skipped) this.counters.skippedSteps++;
    this.epochConfidence.merge(m.confidence);
    this.totals.trainSeconds += m.seconds;
    this.totals.trainImages += m.examples;
    this.totals.allreduceSeconds += m.allreduceSeconds;
    this.totals.allreduceBytes += m.allreduceBytes;
    const e = this.epochTrain;
    e.loss += m.lossSum;
    e.base += m.baseSum;
    e.bonus += m.bonusSum;
    e.correct += m.correct;
    e.examples += m.examples;
    e.seconds += m.seconds;
    this.runDir.record(m.record);
    this.flushSoon();
    this.emit('step', { step: m.record.step, epoch: m.record.epoch, stepsPerEpoch: this.stepsPerEpoch, loss: e.loss / e.examples, accuracy: e.correct / e.examples, imagesPerSecond: this.totals.trainImages / this.totals.trainSeconds, record: m.record });
  }

  /** Close an epoch whose training is complete when no evaluation follows it (or whose evaluation is in). */
  private maybeCloseUnevaluated(): void {
    this.maybeCloseEvaluated();
    const c = this.ledger.cursorAt(this.committedStep);
    if (c.position >= this.plan.epochSamples && !this.closed.has(c.epoch) && !evaluatesAfter(this.config, c.epoch)) this.closeEpoch(c.epoch, null);
  }

  /**
   * Add one rank's evaluation sums; when every rank has reported and the epoch's last step is
   * committed (step reports travel separately and may still be on their way), close the epoch.
   */
  reportEval(r: EvalSumsReport): void {
    const c = this.ledger.cursorAt(this.committedStep);
    if (r.epoch !== c.epoch + 1 || this.closed.has(c.epoch)) {
      throw new BadReportError(`no evaluation is due (committed through step ${this.committedStep}, epoch ${c.epoch + 1})`, 'epoch', r.epoch);
    }
    const list = this.gather(this.evals, r.epoch, r, 'epoch');
    if (list === null) return;
    this.evaluated = { epoch: r.epoch, list };
    this.maybeCloseEvaluated();
  }

  /** Close the epoch whose evaluation is complete once its training is committed too. */
  private maybeCloseEvaluated(): void {
    const ready = this.evaluated;
    if (ready === null) return;
    const c = this.ledger.cursorAt(this.committedStep);
    if (c.epoch !== ready.epoch - 1 || c.position < this.plan.epochSamples) return;
    this.evaluated = null;
    const list = ready.list;
    const sum = (f: (s: EvalSumsReport) => number) => list.reduce((a, s) => a + f(s), 0);
    const examples = sum((s) => s.examples);
    const bins = this.config.confidenceEdges.length - 1;
    const binExamples = Array.from({ length: bins }, (_, b) => sum((s) => s.binExamples[b] ?? 0));
    const binCorrect = Array.from({ length: bins }, (_, b) => sum((s) => s.binCorrect[b] ?? 0));
    const digests = new Set(list.map((s) => s.paramsDigest));
    const replicasIdentical = digests.size === 1;
    if (!replicasIdentical) this.logger.error({ epoch: ready.epoch, digests: list.map((s) => [s.rank, s.paramsDigest]) }, 'replicas diverged: parameter digests differ across ranks');
    this.closeEpoch(ready.epoch - 1, {
      replicasIdentical,
      testLoss: sum((s) => s.lossSum) / examples, testBase: sum((s) => s.baseSum) / examples, testBonus: sum((s) => s.bonusSum) / examples,
      testAccuracy: sum((s) => s.correct) / examples, binExamples, binAccuracy: binCorrect.map((c, b) => (binExamples[b]! > 0 ? c / binExamples[b]! : null)),
    });
  }

  private closeEpoch(epochIndex: number, test: { replicasIdentical: boolean; testLoss: number; testBase: number; testBonus: number; testAccuracy: number; binExamples: number[]; binAccuracy: (number | null)[] } | null): void {
    const e = this.epochTrain;
    const per = (v: number) => (e.examples > 0 ? v / e.examples : 0);
    const record: EpochRecord = {
      epoch: epochIndex + 1, step: this.committedStep,
      trainLoss: per(e.loss), trainBase: per(e.base), trainBonus: per(e.bonus), trainAccuracy: per(e.correct),
      testLoss: test?.testLoss ?? null, testBase: test?.testBase ?? null, testBonus: test?.testBonus ?? null, testAccuracy: test?.testAccuracy ?? null,
      imagesPerSecond: e.seconds > 0 ? e.examples / e.seconds : 0, seconds: e.seconds,
    };
    this.closed.add(epochIndex);
    this.lastConfidence = this.epochConfidence.table();
    this.history.push(record);
    const account = this.accounts().find((a) => a.epoch === epochIndex + 1);
    this.runDir.record({
      type: 'epoch', ...record, confidence: this.lastConfidence,
      ...(test === null ? {} : { testBinExamples: test.binExamples, testBinAccuracy: test.binAccuracy, replicasIdentical: test.replicasIdentical }),
      samples: { committed: account?.committed ?? 0, expected: this.plan.epochSamples, exact: account?.exact ?? false },
    });
    this.flushSoon();
    this.logger.info({ ...record }, 'epoch done');
    this.resetEpochSums();
    this.emit('epoch', record);
    if (epochIndex + 1 === this.config.epochs) this.markFinished();
  }

  private markFinished(): void {
    this.finished = true;
    this.flushSoon().then(() => this.emit('finished'));
  }

  /** Append queued metrics records (in order with truncations); a disk error is logged, not fatal to the run. */
  private flushSoon(): Promise<void> {
    return this.logged(this.runDir.flush());
  }

  private logged(op: Promise<void>): Promise<void> {
    return op.catch((err: unknown) => this.logger.error({ err: (err as Error).message, path: this.runDir.metricsPath }, 'could not write metrics'));
  }

  private resetEpochSums(): void {
    this.epochTrain = { loss: 0, base: 0, bonus: 0, correct: 0, examples: 0, seconds: 0 };
    this.epochConfidence = new ConfidenceAccumulator(this.config.confidenceEdges);
  }

  /**
   * Write a checkpoint streamed by rank 0. It is decoded (checksum-verified) before anything is
   * written; the coordinator's books (history, lineage, counters) go into its metadata.
   */
  async saveCheckpoint(step: number, bytes: Buffer): Promise<{ path: string; bytes: number }> {
    const ckpt = decodeCheckpoint<TrainCheckpointMeta>(bytes, `checkpoint upload for step ${step}`);
    if (ckpt.meta.globalStep !== step) throw new BadReportError('checkpoint metadata disagrees with the upload', 'step', { upload: step, meta: ckpt.meta.globalStep });
    if (ckpt.meta.model !== this.config.model) throw new BadReportError(`checkpoint of another model (run: ${this.config.model})`, 'model', ckpt.meta.model);
    if (step < this.segmentStart.step) throw new BadReportError(`precedes the current generation (step ${this.segmentStart.step})`, 'step', step);
    const at = this.ledger.cursorAt(step);
    // Rank 0 uploads right after its evaluation; the other ranks' last step and evaluation reports
    // may still be on their way. Wait for the epoch to close, so the checkpoint's history has it
    // and a run resumed from it does not evaluate (and record) the epoch twice.
    if (at.position >= this.plan.epochSamples && !this.closed.has(at.epoch)) await this.epochClosed(at.epoch, EPOCH_CLOSE_WAIT_MS);
    const lineage: RunLineage = {
      epochSamples: this.plan.epochSamples, segments: this.ledger.lineage(step), closedEpochs: [...this.closed].map((e) => e + 1),
      ...this.counters, savedAtMs: Date.now(), allreduceSeconds: this.totals.allreduceSeconds, allreduceBytes: this.totals.allreduceBytes,
    };
    const meta: TrainCheckpointMeta = {
      ...ckpt.meta, epoch: at.epoch, position: at.position, worldSize: this.worldSize,
      history: [...this.history], trainSeconds: this.totals.trainSeconds, trainImages: this.totals.trainImages, lineage,
    };
    const t0 = performance.now();
    const saved = await this.store.save(step, { meta, tensors: ckpt.tensors } satisfies Checkpoint<TrainCheckpointMeta>);
    this.checkpoint = { step, meta };
    this.lastCheckpointStep = step;
    this.logger.info({ step, path: saved.path, bytes: saved.bytes }, 'checkpoint written');
    this.emit('checkpoint', { step, path: saved.path, bytes: saved.bytes, seconds: (performance.now() - t0) / 1000 });
    return saved;
  }

  private epochClosed(epochIndex: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const onEpoch = (record: EpochRecord) => {
        if (record.epoch !== epochIndex + 1) return;
        clearTimeout(timer);
        this.off('epoch', onEpoch);
        resolve();
      };
      const timer = setTimeout(() => {
        this.off('epoch', onEpoch);
        this.logger.warn({ epoch: epochIndex + 1, timeoutMs }, 'checkpoint written before its epoch closed');
        resolve();
      }, timeoutMs);
      this.on('epoch', onEpoch);
    });
  }

  /** The newest checkpoint's file, for a rank that restores from it. */
  async latestCheckpointBytes(): Promise<{ step: number; bytes: Buffer }> {
    if (this.checkpoint === null) throw new BadReportError('the run has no checkpoint', 'checkpoint', null);
    return { step: this.checkpoint.step, bytes: await this.store.read(this.checkpoint.step) };
  }
}
