/**
 * The report page: one self-contained HTML file (charts embedded as PNG data URIs, inline CSS, no
 * script, nothing fetched), so it can be mailed, attached to an issue or opened from a pod's
 * volume as is. Everything that comes from a run (experiment names, paths, loss options) is
 * escaped: a run directory is input, and a report is opened in a browser.
 */
import type { ChartDef, SkippedChart } from './chart-style.js';
import type { RunFigures } from './run-figures.js';

/** A rendered chart as the page embeds it. */
export interface PageChart {
  readonly def: ChartDef;
  readonly png: Buffer;
  readonly width: number;
  readonly height: number;
  /** PNG file name beside index.html. */
  readonly file: string;
}

export interface PageRun {
  readonly figures: RunFigures;
  /** Anchor id of the run's section. */
  readonly anchor: string;
  readonly lossOptions: unknown;
  readonly tornLines: number;
}

export interface PageInput {
  readonly runs: readonly PageRun[];
  readonly charts: readonly PageChart[];
  readonly skipped: readonly SkippedChart[];
  readonly generatedAt: Date;
}

/** Escape text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Build the page. */
export function reportHtml(input: PageInput): string {
  const names = input.runs.map((r) => r.figures.label).join(', ');
  const comparison = input.charts.filter((c) => c.def.run === null);
  const comparisonSkipped = input.skipped.filter((s) => s.run === null);
  const sections: string[] = [];
  if (input.runs.length > 1) {
    sections.push(`<section id="comparison"><h2>Comparison</h2>\n${figures(comparison)}\n${comparisonSkipped.map(skippedNote).join('\n')}</section>`);
  }
  for (const run of input.runs) {
    const label = run.figures.label;
    const charts = input.charts.filter((c) => c.def.run === label);
    const skipped = input.skipped.filter((s) => s.run === label);
    sections.push(`<section class="run" id="${escapeHtml(run.anchor)}"><h2>Run ${escapeHtml(label)}</h2>
<p class="meta">Directory <code>${escapeHtml(run.figures.path)}</code> · model ${escapeHtml(run.figures.model)}${run.figures.compute === null ? '' : ` · computed with ${escapeHtml(run.figures.compute)}`} · loss <code>${escapeHtml(compactJson(run.lossOptions ?? run.figures.loss))}</code>${run.tornLines > 0 ? ` · ${run.tornLines} torn line(s) of metrics.jsonl skipped` : ''}</p>
${figures(charts)}
${skipped.map(skippedNote).join('\n')}</section>`);
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="encourage report">
<title>Encourage report: ${escapeHtml(names)}</title>
<style>
body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 2rem auto; max-width: 1320px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .3rem; }
.lead, .meta, figcaption, .skipped { color: #555; font-size: .9rem; }
table { border-collapse: collapse; font-size: .85rem; margin-top: .8rem; }
th, td { border: 1px solid #ddd; padding: .3rem .45rem; text-align: right; } td { white-space: nowrap; } th { background: #f4f4f4; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 1.2rem; margin-top: 1rem; }
figure { margin: 0; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
code { font-size: .85em; word-break: break-all; }
</style>
</head>
<body>
<header>
<h1>Encourage run report</h1>
<p class="lead">Are well-classified examples (high p_y) still contributing gradient under the encouraging loss, and does accuracy follow?
Zhao et al., <i>Well-Classified Examples are Underestimated in Classification with Deep Neural Networks</i> (AAAI 2022).
Generated ${escapeHtml(input.generatedAt.toISOString())} from ${input.runs.length} run${input.runs.length === 1 ? '' : 's'}.</p>
</header>
<section id="summary"><h2>Summary</h2>
${summaryTable(input.runs.map((r) => r.figures))}
</section>
${sections.join('\n')}
</body>
</html>
`;
}

function figures(charts: readonly PageChart[]): string {
  return charts.length === 0 ? '' : `<div class="charts">\n${charts.map(figure).join('\n')}\n</div>`;
}

function figure(c: PageChart): string {
  const src = `data:image/png;base64,${c.png.toString('base64')}`;
  return `<figure id="chart-${escapeHtml(c.def.id)}"><img src="${src}" alt="${escapeHtml(c.def.title)}" title="${escapeHtml(c.def.title)}" width="${c.width}" height="${c.height}" data-chart="${escapeHtml(c.def.id)}" data-file="${escapeHtml(c.file)}">
<figcaption>${escapeHtml(c.def.caption)}</figcaption></figure>`;
}

function skippedNote(s: SkippedChart): string {
  return `<p class="skipped" data-skipped="${escapeHtml(s.id)}">No chart “${escapeHtml(s.title)}”: ${escapeHtml(s.reason)}.</p>`;
}

function summaryTable(runs: readonly RunFigures[]): string {
  const from = new Set(runs.map((r) => r.highConfidenceFrom));
  const highHead = from.size === 1 && [...from][0] !== null ? `grad share p_y ≥ ${[...from][0]}` : 'high-confidence grad share';
  const head = ['run', 'loss', 'model', 'compute', 'workers', 'status', 'epochs', 'steps', 'redone steps', 'test acc.', 'best test acc.', 'train acc.', highHead, 'mean p_y', 'images/s', 'wall s'];
  const rows = runs.map((r) => [
    r.label, r.loss, r.model, r.compute ?? '–', fmt(r.workers, 0), r.status,
    r.configuredEpochs === null ? String(r.epochs) : `${r.epochs}/${r.configuredEpochs}`,
    String(r.steps), String(r.redoneSteps), pct(r.testAccuracy), pct(r.bestTestAccuracy), pct(r.trainAccuracy),
    pct(r.highConfidenceGradShare), fmt(r.meanPy, 3), fmt(r.imagesPerSecond, 0), fmt(r.wallSeconds, 1),
  ]);
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((row) => `<tr>${row.map((v) => `<td>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  return `<table id="summary-table"><thead><tr>${th}</tr></thead>\n<tbody>\n${trs}\n</tbody></table>
<p class="meta">Accuracies in the last evaluated epoch; gradient share and mean p_y over the last epoch's training examples; “redone steps” were recorded again after a rollback (the later record is shown).</p>`;
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)}%`;
}

function fmt(x: number | null, digits: number): string {
  return x === null ? '–' : x.toFixed(digits);
}

function compactJson(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
