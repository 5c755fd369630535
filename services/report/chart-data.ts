/**
 * Data shaping for the charts: the rows each chart plots, computed from one run's history. A long
 * run has tens of thousands of steps, far more than a chart is wide, so per-step series are
 * averaged over buckets of consecutive steps (at most `maxBuckets` of them). Per-bin gradient
 * figures are aggregated the way the confidence accumulator does it: from count-weighted sums,
 * never by averaging means, so a bucket's figure equals the figure of its steps taken together.
 */
import type { EpochRecord, StepRecord } from './metrics-records.js';

/** Consecutive steps averaged into one point. */
export interface StepBucket {
  /** First and last step of the bucket. */
  readonly from: number;
  readonly to: number;
  readonly steps: readonly StepRecord[];
}

/** One cell of the bins × steps matrix. */
export interface BinCell {
  readonly from: number;
  readonly to: number;
  readonly bin: number;
  readonly label: string;
  /** Examples of the bucket's steps in this bin. */
  readonly count: number;
  /** Mean ‖∂L_i/∂f_i‖ over those examples; null for an empty bin (no examples, no gradient to show). */
  readonly meanGradNorm: number | null;
  /** This bin's share of the bucket's total logit-gradient mass; null when the bucket has none. */
  readonly gradMassShare: number | null;
}

/** Split ascending steps into at most `maxBuckets` runs of consecutive records of equal size (the last may be shorter). */
export function bucketSteps(steps: readonly StepRecord[], maxBuckets: number): StepBucket[] {
  if (!Number.isInteger(maxBuckets) || maxBuckets < 1) throw new RangeError(`maxBuckets must be a positive integer, got ${maxBuckets}`);
  const size = Math.max(1, Math.ceil(steps.length / maxBuckets));
  const out: StepBucket[] = [];
  for (let i = 0; i < steps.length; i += size) {
    const part = steps.slice(i, i + size);
    out.push({ from: part[0]!.step, to: part.at(-1)!.step, steps: part });
  }
  return out;
}

/** Human labels of the p_y bins: `0.25–0.5`, and `0.99–1` for the closed last bin. */
export function binLabels(edges: readonly number[]): string[] {
  return edges.slice(0, -1).map((lo, i) => `${round(lo)}–${round(edges[i + 1]!)}`);
}

/** Bins whose whole range lies at or above `threshold`: the high-confidence examples. */
export function highConfidenceBins(edges: readonly number[], threshold: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < edges.length - 1; b++) if (edges[b]! >= threshold) out.push(b);
  return out;
}

/** The bins × steps matrix of the gradient by confidence, bucket-major (all bins of bucket 0 first). */
export function binMatrix(steps: readonly StepRecord[], edges: readonly number[], maxBuckets: number): BinCell[] {
  const labels = binLabels(edges);
  const cells: BinCell[] = [];
  for (const bucket of bucketSteps(steps, maxBuckets)) {
    const { counts, masses, weighed } = binSums(bucket.steps, labels.length);
    const total = masses.reduce((a, m) => a + m, 0);
    for (let b = 0; b < labels.length; b++) {
      cells.push({
        from: bucket.from, to: bucket.to, bin: b, label: labels[b]!, count: counts[b]!,
        meanGradNorm: weighed[b]! > 0 ? masses[b]! / weighed[b]! : null,
        gradMassShare: total > 0 ? masses[b]! / total : null,
      });
    }
  }
  return cells;
}

/** Share of the logit-gradient mass coming from `bins`, per bucket of steps (null where the bucket has no mass). */
export function gradMassShareOf(steps: readonly StepRecord[], bins: readonly number[], binCount: number, maxBuckets: number): { from: number; to: number; share: number | null }[] {
  return bucketSteps(steps, maxBuckets).map((bucket) => {
    const { masses } = binSums(bucket.steps, binCount);
    const total = masses.reduce((a, m) => a + m, 0);
    const part = bins.reduce((a, b) => a + (masses[b] ?? 0), 0);
    return { from: bucket.from, to: bucket.to, share: total > 0 ? part / total : null };
  });
}

/** Per-bin example counts and gradient mass Σ count·mean over steps; `weighed` counts only examples with a known mean. */
function binSums(steps: readonly StepRecord[], bins: number): { counts: number[]; masses: number[]; weighed: number[] } {
  const counts = new Array<number>(bins).fill(0);
  const masses = new Array<number>(bins).fill(0);
  const weighed = new Array<number>(bins).fill(0);
  for (const s of steps) {
    for (let b = 0; b < bins; b++) {
      const c = s.binCounts[b] ?? 0;
      const m = s.binMeanGradNorm[b];
      counts[b]! += c;
      if (c > 0 && typeof m === 'number' && Number.isFinite(m)) {
        masses[b]! += c * m;
        weighed[b]! += c;
      }
    }
  }
  return { counts, masses, weighed };
}

/** Mean of a per-step field over each bucket (steps where it is null are left out). */
export function bucketMeans(steps: readonly StepRecord[], field: (s: StepRecord) => number | null, maxBuckets: number): { step: number; value: number }[] {
  const out: { step: number; value: number }[] = [];
  for (const bucket of bucketSteps(steps, maxBuckets)) {
    const values = bucket.steps.map(field).filter((v): v is number => v !== null && Number.isFinite(v));
    if (values.length > 0) out.push({ step: bucket.to, value: values.reduce((a, v) => a + v, 0) / values.length });
  }
  return out;
}

/** Rows of the loss chart: total, base and bonus per bucket of steps. */
export function lossRows(steps: readonly StepRecord[], maxBuckets: number): { step: number; part: string; value: number }[] {
  const parts: [string, (s: StepRecord) => number | null][] = [['total', (s) => s.loss], ['base', (s) => s.base], ['bonus', (s) => s.bonus]];
  return parts.flatMap(([part, field]) => bucketMeans(steps, field, maxBuckets).map((p) => ({ step: p.step, part, value: p.value })));
}

export const ACCURACY_SERIES = { batch: 'train (batch, per step)', train: 'train (epoch)', test: 'test (epoch)' } as const;

/** Rows of the accuracy chart: the per-step batch accuracy plus train and test accuracy per epoch, all on the step axis. */
export function accuracyRows(steps: readonly StepRecord[], epochs: readonly EpochRecord[], maxBuckets: number): { step: number; epoch: number | null; series: string; value: number }[] {
  const rows: { step: number; epoch: number | null; series: string; value: number }[] = bucketMeans(steps, (s) => s.accuracy, maxBuckets).map((p) => ({ ...p, epoch: null, series: ACCURACY_SERIES.batch }));
  for (const e of epochs) {
    if (e.trainAccuracy !== null) rows.push({ step: e.step, epoch: e.epoch, series: ACCURACY_SERIES.train, value: e.trainAccuracy });
    if (e.testAccuracy !== null) rows.push({ step: e.step, epoch: e.epoch, series: ACCURACY_SERIES.test, value: e.testAccuracy });
  }
  return rows;
}

/** Rows of the parameter-gradient chart: the sampled high- and low-confidence norms, bucketed over the sampled steps. */
export function paramGradRows(steps: readonly StepRecord[], threshold: number, maxBuckets: number): { step: number; group: string; value: number }[] {
  const sampled = steps.filter((s) => s.paramGradNormHigh !== null && s.paramGradNormLow !== null);
  const high = `high confidence (p_y > ${round(threshold)})`;
  const low = `low confidence (p_y ≤ ${round(threshold)})`;
  return [
    ...bucketMeans(sampled, (s) => s.paramGradNormHigh, maxBuckets).map((p) => ({ ...p, group: high })),
    ...bucketMeans(sampled, (s) => s.paramGradNormLow, maxBuckets).map((p) => ({ ...p, group: low })),
  ];
}

/** A step as a fractional epoch (step 50 of 100-step epochs is epoch 0.5), for comparing runs with different batch sizes. */
export function epochOfStep(step: number, stepsPerEpoch: number | null): number {
  return stepsPerEpoch !== null && stepsPerEpoch > 0 ? step / stepsPerEpoch : step;
}

/** Share of the last epoch's training logit-gradient mass from `bins`, from its confidence table. */
export function lastEpochShare(epochs: readonly EpochRecord[], bins: readonly number[]): number | null {
  const table = [...epochs].reverse().find((e) => e.confidence !== null)?.confidence;
  if (table === undefined || table === null) return null;
  const shares = table.bins.map((b) => b.gradMassShare);
  if (shares.some((s) => s === null) || shares.every((s) => s === 0)) return null;
  return bins.reduce((a, b) => a + (shares[b] ?? 0), 0);
}

/** Up to 4 significant digits, without trailing zeros (bin edges and thresholds in labels). */
function round(x: number): string {
  return String(Number(x.toPrecision(4)));
}
