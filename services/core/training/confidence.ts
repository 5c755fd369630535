/**
 * Confidence analytics: the paper's question made measurable. For every example we take p_y and
 * the norm of the gradient of *that example's* loss w.r.t. its logits, and aggregate them in bins
 * of p_y. With cross-entropy the high-p_y bins carry almost no gradient mass; with the encouraging
 * loss they keep contributing (paper §2, Fig. 1). Only the logits' gradient is needed, so this runs
 * every step at the cost of a few array passes over B×K numbers.
 */

/** Default bin edges of p_y: [0, .25), [.25, .5), [.5, .75), [.75, .9), [.9, .99), [.99, 1]. */
export const DEFAULT_CONFIDENCE_EDGES: readonly number[] = [0, 0.25, 0.5, 0.75, 0.9, 0.99, 1];
/** p_y above which an example counts as high-confidence for the parameter-gradient split. */
export const DEFAULT_HIGH_CONFIDENCE_THRESHOLD = 0.5;

export interface ConfidenceBin {
  readonly lo: number;
  readonly hi: number;
  readonly count: number;
  /** Mean over the bin's examples of ‖∂L_i/∂f_i‖. */
  readonly meanGradNorm: number;
  /** Share (0–1) of the total logit-gradient mass Σ_i ‖∂L_i/∂f_i‖ coming from this bin. */
  readonly gradMassShare: number;
}

export interface ConfidenceTable {
  readonly bins: readonly ConfidenceBin[];
  readonly examples: number;
  /** Mean of f_y − max_{j≠y} f_j. */
  readonly meanMargin: number;
  /** Mean p_y. */
  readonly meanPy: number;
}

/**
 * Running sums that merge across steps and across ranks (the distributed run adds the raw
 * sums, then derives means and shares once).
 */
export class ConfidenceAccumulator {
  readonly counts: Float64Array;
  readonly gradNormSums: Float64Array;
  marginSum = 0;
  pySum = 0;
  examples = 0;

  constructor(readonly edges: readonly number[] = DEFAULT_CONFIDENCE_EDGES) {
    validateEdges(edges);
    this.counts = new Float64Array(edges.length - 1);
    this.gradNormSums = new Float64Array(edges.length - 1);
  }

  /**
   * Add one batch. `gradLogits` is ∂L/∂logits of the batch-mean loss, so example i's own gradient
   * is B times row i.
   */
  addBatch(logits: ArrayLike<number>, gradLogits: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): void {
    const batch = labels.length;
    if (logits.length !== batch * numClasses || gradLogits.length !== batch * numClasses) {
      throw new RangeError(`confidence batch: ${logits.length} logits and ${gradLogits.length} gradients for ${batch}×${numClasses}`);
    }
    for (let i = 0; i < batch; i++) {
      const off = i * numClasses;
      const y = labels[i]!;
      let max = -Infinity;
      for (let j = 0; j < numClasses; j++) max = Math.max(max, logits[off + j]!);
      let z = 0;
      let other = -Infinity;
      for (let j = 0; j < numClasses; j++) {
        z += Math.exp(logits[off + j]! - max);
        if (j !== y) other = Math.max(other, logits[off + j]!);
      }
      const py = Math.exp(logits[off + y]! - max) / z;
      let sq = 0;
      for (let j = 0; j < numClasses; j++) sq += gradLogits[off + j]! ** 2;
      const norm = batch * Math.sqrt(sq);
      const bin = binOf(this.edges, py);
      this.counts[bin]! += 1;
      this.gradNormSums[bin]! += norm;
      this.marginSum += logits[off + y]! - other;
      this.pySum += py;
      this.examples += 1;
    }
  }

  /** Fold another accumulator (same edges) into this one. */
  merge(other: ConfidenceAccumulator): void {
    if (other.edges.length !== this.edges.length || other.edges.some((e, i) => e !== this.edges[i])) {
      throw new RangeError('cannot merge confidence accumulators with different bin edges');
    }
    for (let b = 0; b < this.counts.length; b++) {
      this.counts[b]! += other.counts[b]!;
      this.gradNormSums[b]! += other.gradNormSums[b]!;
    }
    this.marginSum += other.marginSum;
    this.pySum += other.pySum;
    this.examples += other.examples;
  }

  /** Means and shares. Empty bins report 0. */
  table(): ConfidenceTable {
    const total = this.gradNormSums.reduce((s, x) => s + x, 0);
    const bins: ConfidenceBin[] = [];
    for (let b = 0; b < this.counts.length; b++) {
      const count = this.counts[b]!;
      bins.push({
        lo: this.edges[b]!,
        hi: this.edges[b + 1]!,
        count,
        meanGradNorm: count > 0 ? this.gradNormSums[b]! / count : 0,
        gradMassShare: total > 0 ? this.gradNormSums[b]! / total : 0,
      });
    }
    const n = this.examples;
    return { bins, examples: n, meanMargin: n > 0 ? this.marginSum / n : 0, meanPy: n > 0 ? this.pySum / n : 0 };
  }

  reset(): void {
    this.counts.fill(0);
    this.gradNormSums.fill(0);
    this.marginSum = 0;
    this.pySum = 0;
    this.examples = 0;
  }
}

/** Index of the bin holding p: [lo, hi) except the last bin, which includes 1. */
export function binOf(edges: readonly number[], p: number): number {
  const last = edges.length - 2;
  for (let b = 0; b < last; b++) if (p < edges[b + 1]!) return b;
  return last;
}

/** Edges must start at 0, end at 1 and increase strictly. */
export function validateEdges(edges: readonly number[]): void {
  const ok =
    edges.length >= 2 && edges[0] === 0 && edges[edges.length - 1] === 1 && edges.every((e, i) => i === 0 || e > edges[i - 1]!);
  if (!ok) throw new RangeError(`confidence bin edges must increase strictly from 0 to 1, got [${edges.join(', ')}]`);
}

/** Render a table as aligned text, for logs and docs. */
export function formatConfidenceTable(t: ConfidenceTable): string {
  const lines = ['p_y bin        count  mean‖∂L/∂f‖  grad-mass share'];
  for (const b of t.bins) {
    const range = `[${b.lo.toFixed(2)}, ${b.hi.toFixed(2)}${b.hi === 1 ? ']' : ')'}`;
    lines.push(`${range.padEnd(13)} ${String(b.count).padStart(6)}  ${b.meanGradNorm.toFixed(4).padStart(11)}  ${(b.gradMassShare * 100).toFixed(1).padStart(14)}%`);
  }
  lines.push(`mean p_y ${t.meanPy.toFixed(3)}, mean margin ${t.meanMargin.toFixed(3)}, ${t.examples} examples`);
  return lines.join('\n');
}
