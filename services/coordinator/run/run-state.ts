/**
 * The run as the coordinator sees it: it merges every rank's per-step and evaluation sums into one
 * history (the same `metrics.jsonl` records as a single-process run), writes checkpoints that rank 0
 * streams in, and resolves the run's summary when the last epoch is evaluated.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { decodeCheckpoint } from '../../core/checkpoint/checkpoint-file.js';
import type { CheckpointStore } from '../../core/checkpoint/checkpoint-store.js';
import type { EpochRecord, TrainCheckpointMeta } from '../../core/training/checkpoint-meta.js';
import { ConfidenceAccumulator, type ConfidenceTable } from '../../core/training/confidence.js';
import type { EvalSums, LossSums } from '../../core/training/loss-sums.js';
import type { TrainConfig } from '../../core/training/train-config.js';
import type { RunDir } from '../../core/training/run-dir.js';
import { BadReportError } from '../errors.js';
import { evaluatesAfter, stepsPerEpoch, type PlanContext } from '../planner/epoch-planner.js';

/** One rank's report of one step (the StepReport message, decoded). */
export interface StepSums extends LossSums {
  rank: number;
  step: number;
  epoch: number;
  binCounts: number[];
  binGradNormSums: number[];
  marginSum: number;
  pySum: number;
  paramGradNormHigh: number;
  paramGradNormLow: number;
  learningRate: number;
  dataSeconds: number;
  computeSeconds: number;
  allreduceSeconds: number;
  updateSeconds: number;
  allreduceBytes: number;
}

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

/** Emits `step` ({step, epoch, stepsPerEpoch, loss, accuracy, imagesPerSecond}), `epoch` (EpochRecord) and `finished`. */
export class RunState extends EventEmitter {
  readonly history: EpochRecord[] = [];
  readonly totals: RunTotals = { trainSeconds: 0, trainImages: 0, allreduceSeconds: 0, allreduceBytes: 0 };
  lastConfidence: ConfidenceTable;
  lastCheckpointStep: number | null = null;
  finished = false;
  private readonly steps = new Map<number, StepSums[]>();
  private readonly evals = new Map<number, EvalSumsReport[]>();
  private epochTrain = { loss: 0, base: 0, bonus: 0, correct: 0, examples: 0, seconds: 0 };
  private epochConfidence: ConfidenceAccumulator;

  constructor(
    readonly config: TrainConfig,
    readonly plan: PlanContext,
    private readonly runDir: RunDir,
    private readonly store: CheckpointStore,
    private readonly logger: Logger,
  ) {
    super();
    this.epochConfidence = new ConfidenceAccumulator(config.confidenceEdges);
    this.lastConfidence = this.epochConfidence.table();
  }

  get stepsPerEpoch(): number {
    return stepsPerEpoch(this.plan);
  }

  /** Add one rank's step report; when every rank has reported the step, merge and record it. */
  async reportStep(r: StepSums): Promise<void> {
    const bins = this.config.confidenceEdges.length - 1;
    if (r.binCounts.length !== bins || r.binGradNormSums.length !== bins) throw new BadReportError(`expected ${bins} confidence bins`, 'binCounts', r.binCounts.length);
    const list = this.gather(this.steps, r.step, r, 'step');
    if (list !== null) await this.mergeStep(list);
  }

  /**
   * Collect one report per rank under `key`; returns every rank's report once the last one has
   * arrived (and forgets them), else null. Rejects ranks out of range and duplicates.
   */
  private gather<T extends { rank: number }>(pending: Map<number, T[]>, key: number, report: T, field: 'step' | 'epoch'): T[] | null {
    if (report.rank >= this.plan.worldSize) throw new BadReportError(`rank out of range for world size ${this.plan.worldSize}`, 'rank', report.rank);
    const list = pending.get(key) ?? [];
    if (list.some((x) => x.rank === report.rank)) throw new BadReportError(`duplicate report from rank ${report.rank}`, field, key);
    list.push(report);
    if (list.length < this.plan.worldSize) {
      pending.set(key, list);
      return null;
    }
    pending.delete(key);
    return list;
  }

  private async mergeStep(list: StepSums[]): Promise<void> {
    const sum = (f: (s: StepSums) => number) => list.reduce((a, s) => a + f(s), 0);
    const first = list[0]!;
    const examples = sum((s) => s.examples);
    const acc = new ConfidenceAccumulator(this.config.confidenceEdges);
    for (const s of list) {
      s.binCounts.forEach((c, b) => (acc.counts[b]! += c));
      s.binGradNormSums.forEach((g, b) => (acc.gradNormSums[b]! += g));
      acc.marginSum += s.marginSum;
      acc.pySum += s.pySum;
      acc.examples += s.examples;
    }
    this.epochConfidence.merge(acc);
    const t = acc.table();
    // A data-parallel step takes as long as its slowest rank.
    const seconds = Math.max(...list.map((s) => s.dataSeconds + s.computeSeconds + s.allreduceSeconds + s.updateSeconds));
    const sampled = list.filter((s) => Number.isFinite(s.paramGradNormHigh));
    this.totals.trainSeconds += seconds;
    this.totals.trainImages += examples;
    this.totals.allreduceSeconds += sum((s) => s.allreduceSeconds) / list.length;
    this.totals.allreduceBytes += sum((s) => s.allreduceBytes);
    const e = this.epochTrain;
    e.loss += sum((s) => s.lossSum);
    e.base += sum((s) => s.baseSum);
    e.bonus += sum((s) => s.bonusSum);
    e.correct += sum((s) => s.correct);
    e.examples += examples;
    e.seconds += seconds;
    this.runDir.record({
      type: 'step', step: first.step, epoch: first.epoch, lr: first.learningRate,
      loss: sum((s) => s.lossSum) / examples, base: sum((s) => s.baseSum) / examples, bonus: sum((s) => s.bonusSum) / examples,
      accuracy: sum((s) => s.correct) / examples, seconds, imagesPerSecond: examples / seconds, workers: list.length,
      phaseSeconds: { data: Math.max(...list.map((s) => s.dataSeconds)), compute: Math.max(...list.map((s) => s.computeSeconds)), allreduce: Math.max(...list.map((s) => s.allreduceSeconds)), update: Math.max(...list.map((s) => s.updateSeconds)) },
      allreduceBytes: sum((s) => s.allreduceBytes),
      binCounts: t.bins.map((b) => b.count), binMeanGradNorm: t.bins.map((b) => b.meanGradNorm), binGradMassShare: t.bins.map((b) => b.gradMassShare),
      meanMargin: t.meanMargin, meanPy: t.meanPy,
      // Sampled per rank on its own batch; the mean over ranks is reported.
      ...(sampled.length === 0 ? {} : { paramGradNormHigh: sampled.reduce((a, s) => a + s.paramGradNormHigh, 0) / sampled.length, paramGradNormLow: sampled.reduce((a, s) => a + s.paramGradNormLow, 0) / sampled.length }),
    });
    this.emit('step', { step: first.step, epoch: first.epoch, stepsPerEpoch: this.stepsPerEpoch, loss: e.loss / e.examples, accuracy: e.correct / e.examples, imagesPerSecond: this.totals.trainImages / this.totals.trainSeconds });
    const epochIndex = first.epoch - 1;
    if (first.step === (epochIndex + 1) * this.stepsPerEpoch && !evaluatesAfter(this.config, epochIndex)) await this.closeEpoch(epochIndex, null);
  }

  /** Add one rank's evaluation sums; when every rank has reported, close the epoch. */
  async reportEval(r: EvalSumsReport): Promise<void> {
    const list = this.gather(this.evals, r.epoch, r, 'epoch');
    if (list === null) return;
    const sum = (f: (s: EvalSumsReport) => number) => list.reduce((a, s) => a + f(s), 0);
    const examples = sum((s) => s.examples);
    const bins = this.config.confidenceEdges.length - 1;
    const binExamples = Array.from({ length: bins }, (_, b) => sum((s) => s.binExamples[b] ?? 0));
    const binCorrect = Array.from({ length: bins }, (_, b) => sum((s) => s.binCorrect[b] ?? 0));
    const digests = new Set(list.map((s) => s.paramsDigest));
    const replicasIdentical = digests.size === 1;
    if (!replicasIdentical) this.logger.error({ epoch: r.epoch, digests: list.map((s) => [s.rank, s.paramsDigest]) }, 'replicas diverged: parameter digests differ across ranks');
    await this.closeEpoch(r.epoch - 1, {
      replicasIdentical,
      testLoss: sum((s) => s.lossSum) / examples, testBase: sum((s) => s.baseSum) / examples, testBonus: sum((s) => s.bonusSum) / examples,
      testAccuracy: sum((s) => s.correct) / examples, binExamples, binAccuracy: binCorrect.map((c, b) => (binExamples[b]! > 0 ? c / binExamples[b]! : null)),
    });
  }

  private async closeEpoch(epochIndex: number, test: { replicasIdentical: boolean; testLoss: number; testBase: number; testBonus: number; testAccuracy: number; binExamples: number[]; binAccuracy: (number | null)[] } | null): Promise<void> {
    const e = this.epochTrain;
    const record: EpochRecord = {
      epoch: epochIndex + 1, step: (epochIndex + 1) * this.stepsPerEpoch,
      trainLoss: e.loss / e.examples, trainBase: e.base / e.examples, trainBonus: e.bonus / e.examples, trainAccuracy: e.correct / e.examples,
      testLoss: test?.testLoss ?? null, testBase: test?.testBase ?? null, testBonus: test?.testBonus ?? null, testAccuracy: test?.testAccuracy ?? null,
      imagesPerSecond: e.examples / e.seconds, seconds: e.seconds,
    };
    this.lastConfidence = this.epochConfidence.table();
    this.history.push(record);
    this.runDir.record({ type: 'epoch', ...record, confidence: this.lastConfidence, ...(test === null ? {} : { testBinExamples: test.binExamples, testBinAccuracy: test.binAccuracy, replicasIdentical: test.replicasIdentical }) });
    await this.runDir.flush();
    this.logger.info({ ...record }, 'epoch done');
    this.epochTrain = { loss: 0, base: 0, bonus: 0, correct: 0, examples: 0, seconds: 0 };
    this.epochConfidence = new ConfidenceAccumulator(this.config.confidenceEdges);
    this.emit('epoch', record);
    if (epochIndex + 1 === this.config.epochs) {
      this.finished = true;
      this.emit('finished');
    }
  }

  /**
   * Write a checkpoint streamed by rank 0. It is decoded (checksum-verified) before anything is
   * written, and the coordinator's history is added to its metadata.
   */
  async saveCheckpoint(step: number, bytes: Buffer): Promise<{ path: string; bytes: number }> {
    const ckpt = decodeCheckpoint<TrainCheckpointMeta>(bytes, `checkpoint upload for step ${step}`);
    if (ckpt.meta.globalStep !== step) throw new BadReportError('checkpoint metadata disagrees with the upload', 'step', { upload: step, meta: ckpt.meta.globalStep });
    if (ckpt.meta.model !== this.config.model) throw new BadReportError(`checkpoint of another model (run: ${this.config.model})`, 'model', ckpt.meta.model);
    const meta: TrainCheckpointMeta = { ...ckpt.meta, history: [...this.history], trainSeconds: this.totals.trainSeconds, trainImages: this.totals.trainImages };
    const saved = await this.store.save(step, { meta, tensors: ckpt.tensors });
    this.lastCheckpointStep = step;
    this.logger.info({ step, path: saved.path, bytes: saved.bytes }, 'checkpoint written');
    return saved;
  }
}
