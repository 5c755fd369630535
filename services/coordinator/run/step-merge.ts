/**
 * Merging the ranks' reports of one step into the run's step record (the same `metrics.jsonl`
 * record a single-process run writes) and into the epoch's running sums.
 */
import { ConfidenceAccumulator } from '../../core/training/confidence.js';
import type { LossSums } from '../../core/training/loss-sums.js';

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
  /** Exposed all-reduce time: communication left after this rank's gradient was all on the host. */
  allreduceSeconds: number;
  /** The whole all-reduce, from the first bucket's start to the last one's end (overlaps compute). */
  allreduceTotalSeconds: number;
  updateSeconds: number;
  allreduceBytes: number;
  /** Σ of the dataset indices the rank trained on (checked against the plan). */
  indexSum: number;
  /** The update was skipped on every rank (a NaN/Inf somewhere). */
  skipped: boolean;
}

export interface MergedStep {
  readonly record: Record<string, unknown> & { type: 'step'; step: number };
  readonly confidence: ConfidenceAccumulator;
  readonly examples: number;
  readonly seconds: number;
  readonly lossSum: number;
  readonly baseSum: number;
  readonly bonusSum: number;
  readonly correct: number;
  readonly allreduceSeconds: number;
  readonly allreduceBytes: number;
}

/**
 * Merge the reports of one step. `worldSize` is the ring's size: fewer reports mean the step was
 * finalised after a rank was lost (its figures are missing; the record says `partial`).
 */
export function mergeStepReports(edges: readonly number[], list: readonly StepSums[], worldSize: number, generation: number): MergedStep {
  const sum = (f: (s: StepSums) => number) => list.reduce((a, s) => a + f(s), 0);
  const max = (f: (s: StepSums) => number) => Math.max(...list.map(f));
  const min = (f: (s: StepSums) => number) => Math.min(...list.map(f));
  const first = list[0]!;
  const examples = sum((s) => s.examples);
  const acc = new ConfidenceAccumulator(edges);
  for (const s of list) {
    s.binCounts.forEach((c, b) => (acc.counts[b]! += c));
    s.binGradNormSums.forEach((g, b) => (acc.gradNormSums[b]! += g));
    acc.marginSum += s.marginSum;
    acc.pySum += s.pySum;
    acc.examples += s.examples;
  }
  const t = acc.table();
  // A data-parallel step takes as long as its slowest rank.
  const seconds = max((s) => s.dataSeconds + s.computeSeconds + s.allreduceSeconds + s.updateSeconds);
  const sampled = list.filter((s) => Number.isFinite(s.paramGradNormHigh));
  const per = (v: number) => (examples > 0 ? v / examples : 0);
  const record = {
    type: 'step' as const, step: first.step, epoch: first.epoch, lr: first.learningRate, generation,
    loss: per(sum((s) => s.lossSum)), base: per(sum((s) => s.baseSum)), bonus: per(sum((s) => s.bonusSum)),
    accuracy: per(sum((s) => s.correct)), seconds, imagesPerSecond: seconds > 0 ? examples / seconds : 0, workers: worldSize,
    phaseSeconds: { data: max((s) => s.dataSeconds), compute: max((s) => s.computeSeconds), allreduce: max((s) => s.allreduceSeconds), update: max((s) => s.updateSeconds) },
    // The rank that reaches the all-reduce last waits for no one: its time is the communication
    // itself. The others' extra time is load imbalance (waiting for the slowest rank's compute).
    allreduceCommSeconds: min((s) => s.allreduceSeconds),
    // The all-reduce including what overlapped compute (slowest rank); allreduce above is what was not hidden.
    allreduceTotalSeconds: max((s) => s.allreduceTotalSeconds),
    allreduceBytes: sum((s) => s.allreduceBytes),
    binCounts: t.bins.map((b) => b.count), binMeanGradNorm: t.bins.map((b) => b.meanGradNorm), binGradMassShare: t.bins.map((b) => b.gradMassShare),
    meanMargin: t.meanMargin, meanPy: t.meanPy,
    // Sampled per rank on its own batch; the mean over ranks is reported.
    ...(sampled.length === 0 ? {} : { paramGradNormHigh: sampled.reduce((a, s) => a + s.paramGradNormHigh, 0) / sampled.length, paramGradNormLow: sampled.reduce((a, s) => a + s.paramGradNormLow, 0) / sampled.length }),
    ...(list.length < worldSize ? { partial: true, reports: list.length } : {}),
    ...(first.skipped ? { skipped: true } : {}),
  };
  return {
    record, confidence: acc, examples, seconds,
    lossSum: sum((s) => s.lossSum), baseSum: sum((s) => s.baseSum), bonusSum: sum((s) => s.bonusSum), correct: sum((s) => s.correct),
    allreduceSeconds: sum((s) => s.allreduceSeconds) / list.length, allreduceBytes: sum((s) => s.allreduceBytes),
  };
}
