/**
 * Side-by-side charts of several runs (typically CE vs EL), one colour per run. Runs may differ in
 * batch size and so in steps per epoch; the x axis is therefore the epoch (fractional for
 * per-step series: step / steps-per-epoch), which is what the paper's comparisons use too.
 */
import type { TopLevelSpec } from 'vega-lite';
import { binLabels, epochOfStep, gradMassShareOf, highConfidenceBins } from './chart-data.js';
import { CATEGORY_SCHEME, frame, MAX_COMPARISON_POINTS, type ChartDef, type SkippedChart } from './chart-style.js';
import type { RunData } from './load-run.js';

export interface LabelledRun {
  readonly run: RunData;
  /** Unique among the report's runs; the colour legend shows it. */
  readonly label: string;
}

/** Build the comparison charts of two or more runs. */
export function comparisonCharts(runs: readonly LabelledRun[]): { charts: ChartDef[]; skipped: SkippedChart[] } {
  const charts: ChartDef[] = [];
  const skipped: SkippedChart[] = [];
  const names = runs.map((r) => r.label);
  const color = { field: 'run', type: 'nominal', title: 'run', scale: { domain: names, scheme: CATEGORY_SCHEME } } as const;
  const add = (id: string, title: string, caption: string, rows: object[], empty: string, build: () => TopLevelSpec) => {
    const def = { id: `compare-${id}`, run: null, title };
    if (rows.length === 0) skipped.push({ ...def, reason: empty });
    else charts.push({ ...def, caption, spec: build() });
  };

  const accuracy = runs.flatMap(({ run, label }) => run.history.epochs.filter((e) => e.testAccuracy !== null).map((e) => ({ run: label, epoch: e.epoch, testAccuracy: e.testAccuracy })));
  add('test-accuracy', 'Test accuracy by run', 'Test accuracy after each evaluated epoch, one line per run.', accuracy, 'no run has evaluated an epoch yet', () => ({
    ...frame('Test accuracy by run', 'after each evaluated epoch'),
    data: { values: accuracy },
    mark: { type: 'line', point: { size: 40 } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'testAccuracy', type: 'quantitative', title: 'test accuracy', axis: { format: '%' } },
      color,
    },
  }) as TopLevelSpec);

  const thresholds = new Set(runs.map(({ run }) => run.highConfidenceThreshold));
  const threshold = thresholds.size === 1 ? `p_y ≥ ${[...thresholds][0]}` : 'p_y at or above each run\'s threshold';
  const share = runs.flatMap(({ run, label }) => {
    const bins = highConfidenceBins(run.edges, run.highConfidenceThreshold);
    return gradMassShareOf(run.history.steps, bins, run.edges.length - 1, MAX_COMPARISON_POINTS)
      .filter((p) => p.share !== null)
      .map((p) => ({ run: label, epoch: epochOfStep(p.to, run.stepsPerEpoch), share: p.share }));
  });
  const shareTitle = `High-confidence share of the gradient (${threshold})`;
  add('high-confidence-share', shareTitle, `Share of the logit-gradient mass Σ‖∂L_i/∂f_i‖ that comes from well-classified training examples (${threshold}), averaged over buckets of consecutive steps. The paper's claim: under CE the gradient of an example fades as it becomes well classified, so this share stays low; the encouraging loss keeps it higher.`, share, 'no run recorded per-bin gradient norms', () => ({
    ...frame(shareTitle, 'averaged over buckets of steps; x = step / steps per epoch'),
    data: { values: share },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'share', type: 'quantitative', title: 'share of gradient mass', axis: { format: '%' } },
      color,
    },
  }) as TopLevelSpec);

  const bars = runs.flatMap(({ run, label }) => {
    const table = [...run.history.epochs].reverse().find((e) => e.confidence !== null)?.confidence;
    if (table === undefined || table === null) return [];
    const labels = binLabels([...table.bins.map((b) => b.lo), table.bins.at(-1)!.hi]);
    return table.bins.flatMap((b, i) => (b.count > 0 && b.meanGradNorm !== null ? [{ run: label, bin: i, label: labels[i]!, meanGradNorm: b.meanGradNorm, count: b.count }] : []));
  });
  const binOrder = [...new Map(bars.map((b) => [b.label, b.bin])).entries()].sort((a, b) => a[1] - b[1]).map(([l]) => l);
  add('grad-by-bin', 'Gradient magnitude by confidence, last epoch', 'Mean per-example logit-gradient norm ‖∂L/∂f‖ in each p_y bin over the last epoch\'s training examples (cf. the paper\'s Fig. 1). Bins without examples have no bar.', bars, 'no run has finished an epoch yet', () => ({
    ...frame('Gradient magnitude by confidence, last epoch', 'mean ‖∂L/∂f‖ per p_y bin, last epoch\'s training examples'),
    data: { values: bars },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'label', type: 'ordinal', title: 'p_y bin', sort: binOrder, axis: { labelAngle: 0 } },
      xOffset: { field: 'run', type: 'nominal', sort: names },
      y: { field: 'meanGradNorm', type: 'quantitative', title: 'mean ‖∂L/∂f‖' },
      color,
    },
  }) as TopLevelSpec);
  return { charts, skipped };
}
