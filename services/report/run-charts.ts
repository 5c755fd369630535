/**
 * The charts of one run, as vega-lite specs. Together they answer the paper's question for that
 * run (Zhao et al., AAAI 2022, §2 and Fig. 1): do well-classified examples (high p_y) still
 * contribute gradient, and does accuracy follow? Every per-step chart shares the step axis.
 */
import type { TopLevelSpec } from 'vega-lite';
import { accuracyRows, ACCURACY_SERIES, binLabels, binMatrix, lossRows, paramGradRows } from './chart-data.js';
import { CATEGORY_SCHEME, frame, MAX_HEATMAP_COLUMNS, MAX_LINE_POINTS, stepX, type ChartDef, type SkippedChart } from './chart-style.js';
import type { RunData } from './load-run.js';

/** Build the charts of `run`; `label` names it in titles, `prefix` makes the chart ids unique. */
export function runCharts(run: RunData, label: string, prefix: string): { charts: ChartDef[]; skipped: SkippedChart[] } {
  const charts: ChartDef[] = [];
  const skipped: SkippedChart[] = [];
  const { steps, epochs } = run.history;
  const add = (id: string, title: string, caption: string, build: () => TopLevelSpec | string) => {
    const spec = build();
    const full = { id: `${prefix}-${id}`, run: label, title: `${label}: ${title}` };
    if (typeof spec === 'string') skipped.push({ ...full, reason: spec });
    else charts.push({ ...full, caption, spec });
  };

  add('accuracy', 'accuracy', 'Training accuracy of each batch (averaged over buckets of steps in long runs) and train/test accuracy at the end of each epoch.', () => {
    const rows = accuracyRows(steps, epochs, MAX_LINE_POINTS);
    if (rows.length === 0) return 'no step or epoch recorded an accuracy';
    const series = [ACCURACY_SERIES.batch, ACCURACY_SERIES.train, ACCURACY_SERIES.test];
    const color = { field: 'series', type: 'nominal', title: null, scale: { domain: series, range: ['#9ecae1', '#1f77b4', '#d62728'] } } as const;
    return {
      ...frame(`${label}: accuracy`, 'train and test accuracy'),
      data: { values: rows },
      encoding: { x: stepX(), y: { field: 'value', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] }, axis: { format: '%' } }, color },
      layer: [
        { transform: [{ filter: { field: 'series', equal: ACCURACY_SERIES.batch } }], mark: { type: 'line', strokeWidth: 1 } },
        { transform: [{ filter: { field: 'series', oneOf: [ACCURACY_SERIES.train, ACCURACY_SERIES.test] } }], mark: { type: 'line', point: { size: 40 } } },
      ],
    } as TopLevelSpec;
  });

  add('loss', 'loss parts', 'The training loss of each step and its two parts: loss = base (cross-entropy) + bonus (the encouraging term, ≤ 0; zero for plain CE).', () => {
    const rows = lossRows(steps, MAX_LINE_POINTS);
    if (rows.length === 0) return 'no step recorded a loss';
    return {
      ...frame(`${label}: loss parts`, 'total = base + bonus, per training step'),
      data: { values: rows },
      mark: { type: 'line' },
      encoding: {
        x: stepX(),
        y: { field: 'value', type: 'quantitative', title: 'loss' },
        color: { field: 'part', type: 'nominal', title: null, scale: { domain: ['total', 'base', 'bonus'], range: ['#333333', '#1f77b4', '#ff7f0e'] } },
      },
    } as TopLevelSpec;
  });

  const labels = binLabels(run.edges);
  const matrix = binMatrix(steps, run.edges, MAX_HEATMAP_COLUMNS);
  add('grad-norm-heatmap', 'gradient magnitude by confidence', 'Mean per-example logit-gradient norm ‖∂L/∂f‖ of the examples in each p_y bin, over training steps. Under cross-entropy the top rows (well-classified examples) fade to zero; under the encouraging loss they stay lit. Blank cells: no examples in that bin.', () => {
    const cells = matrix.filter((c) => c.meanGradNorm !== null).map((c) => ({ ...c, x0: c.from - 1 }));
    if (cells.length === 0) return 'no step recorded per-bin gradient norms';
    return {
      ...frame(`${label}: gradient magnitude by confidence`, 'mean ‖∂L/∂f‖ of the examples in each p_y bin, per step'),
      data: { values: cells },
      mark: { type: 'rect' },
      encoding: {
        x: { ...stepX('x0'), scale: { nice: false, zero: true } },
        x2: { field: 'to' },
        y: { field: 'label', type: 'ordinal', title: 'p_y bin', sort: [...labels].reverse() },
        color: { field: 'meanGradNorm', type: 'quantitative', title: 'mean ‖∂L/∂f‖', scale: { scheme: 'viridis' }, legend: { direction: 'horizontal', gradientLength: 200 } },
      },
    } as TopLevelSpec;
  });

  add('grad-share', 'gradient-mass share by confidence', `Share of each step's total logit-gradient mass Σ‖∂L_i/∂f_i‖ coming from each p_y bin (stacked to 100%). The bins at or above p_y = ${run.highConfidenceThreshold} hold the well-classified examples the paper is about.`, () => {
    const rows = matrix.filter((c) => c.gradMassShare !== null).map((c) => ({ step: c.to, bin: c.bin, label: c.label, share: c.gradMassShare }));
    if (rows.length === 0) return 'no step recorded per-bin gradient norms';
    return {
      ...frame(`${label}: gradient-mass share by confidence`, 'which p_y bins the logit-gradient mass comes from'),
      data: { values: rows },
      mark: { type: 'area' },
      encoding: {
        x: stepX(),
        y: { field: 'share', type: 'quantitative', title: 'share of gradient mass', stack: 'normalize', axis: { format: '%' } },
        color: { field: 'label', type: 'ordinal', title: 'p_y bin', sort: labels, scale: { scheme: 'viridis' } },
        order: { field: 'bin', type: 'quantitative', sort: 'ascending' },
      },
    } as TopLevelSpec;
  });

  add('param-grad', 'high- vs low-confidence parameter gradient', `Norm of the parameter gradient contributed by the high-confidence examples of a batch (p_y > ${run.highConfidenceThreshold}) and by the rest, on the steps where it was sampled (--param-grad-every).`, () => {
    const rows = paramGradRows(steps, run.highConfidenceThreshold, MAX_LINE_POINTS);
    if (rows.length === 0) return 'no step sampled the parameter-gradient split (--param-grad-every 0)';
    return {
      ...frame(`${label}: high- vs low-confidence parameter gradient`, '‖∂L/∂θ‖ of each group\'s examples, sampled steps'),
      data: { values: rows },
      mark: { type: 'line', point: rows.length <= 120 ? { size: 20 } : false },
      encoding: {
        x: stepX(),
        y: { field: 'value', type: 'quantitative', title: '‖∂L/∂θ‖' },
        color: { field: 'group', type: 'nominal', title: null, scale: { scheme: CATEGORY_SCHEME } },
      },
    } as TopLevelSpec;
  });
  return { charts, skipped };
}
