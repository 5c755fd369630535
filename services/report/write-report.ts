/**
 * Write a report of one or more runs: `index.html` (self-contained) and the charts as PNG files
 * beside it. Used by `encourage report` and, at the end of every training run, by the CLI.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { silentLogger } from '../core/logging.js';
import type { ChartDef, SkippedChart } from './chart-style.js';
import { comparisonCharts, type LabelledRun } from './comparison-charts.js';
import { loadRun } from './load-run.js';
import { renderChart } from './render-chart.js';
import { reportHtml, type PageChart } from './report-html.js';
import { runCharts } from './run-charts.js';
import { runFigures, type RunFigures } from './run-figures.js';

export const REPORT_FILE = 'index.html';
/** The report directory inside a run directory (ARCHITECTURE.md: every run has config, metrics, checkpoints, report). */
export const RUN_REPORT_DIR = 'report';

export interface ReportResult {
  /** Path of index.html. */
  readonly report: string;
  readonly charts: readonly { readonly id: string; readonly title: string; readonly run: string | null; readonly path: string }[];
  readonly skipped: readonly SkippedChart[];
  readonly runs: readonly RunFigures[];
}

/**
 * Where a report goes by default: `<run>/report` for one run; for several, a `report-<a>-vs-<b>`
 * directory beside the first run (never inside one run, since it describes all of them).
 */
export function defaultReportDir(runDirs: readonly string[]): string {
  const first = resolve(runDirs[0]!);
  if (runDirs.length === 1) return join(first, RUN_REPORT_DIR);
  const names = runDirs.map((d) => slugify(basename(resolve(d))));
  return join(dirname(first), runDirs.length <= 3 ? `report-${names.join('-vs-')}` : `report-${runDirs.length}-runs`);
}

/** Load `runDirs`, render every chart and write the report into `out`. */
export async function writeReport(runDirs: readonly string[], options: { out?: string; logger?: Logger; now?: Date } = {}): Promise<ReportResult> {
  if (runDirs.length === 0) throw new RangeError('writeReport needs at least one run directory');
  const logger = options.logger ?? silentLogger;
  const started = performance.now();
  const out = resolve(options.out ?? defaultReportDir(runDirs));
  const loaded = await Promise.all(runDirs.map((d) => loadRun(d)));
  const runs = labelRuns(loaded.map((run) => ({ run, label: baseLabel(run.experiment, run.loss) })));
  const slugs = uniqueSlugs(runs.map((r) => r.label));

  const defs: ChartDef[] = [];
  const skipped: SkippedChart[] = [];
  if (runs.length > 1) collect(comparisonCharts(runs), defs, skipped);
  runs.forEach((r, i) => collect(runCharts(r.run, r.label, slugs[i]!), defs, skipped));

  await mkdir(out, { recursive: true });
  const charts: PageChart[] = [];
  // One at a time: rendering is CPU-bound JavaScript and resvg, parallelism would not help.
  for (const def of defs) {
    const rendered = await renderChart(def);
    const file = `${def.id}.png`;
    await writeFile(join(out, file), rendered.png);
    charts.push({ def, file, ...rendered });
  }
  const figures = runs.map((r) => runFigures(r.run, r.label));
  const html = reportHtml({
    runs: runs.map((r, i) => ({ figures: figures[i]!, anchor: `run-${slugs[i]!}`, lossOptions: r.run.lossOptions, tornLines: r.run.tornLines })),
    charts, skipped, generatedAt: options.now ?? new Date(),
  });
  const report = join(out, REPORT_FILE);
  // Atomic: a browser or a watcher never sees half a page.
  await writeFile(`${report}.tmp`, html);
  await rename(`${report}.tmp`, report);
  for (const s of skipped) logger.debug({ chart: s.id, reason: s.reason }, 'chart skipped');
  logger.info({ report, charts: charts.length, skipped: skipped.length, ms: Math.round(performance.now() - started) }, 'report written');
  return {
    report,
    charts: charts.map((c) => ({ id: c.def.id, title: c.def.title, run: c.def.run, path: join(out, c.file) })),
    skipped,
    runs: figures,
  };
}

function collect(part: { charts: ChartDef[]; skipped: SkippedChart[] }, defs: ChartDef[], skipped: SkippedChart[]): void {
  defs.push(...part.charts);
  skipped.push(...part.skipped);
}

/** `el`, or `main (el)` when the experiment name does not say the loss. */
function baseLabel(experiment: string, loss: string): string {
  return experiment === loss || loss === 'unknown' ? experiment : `${experiment} (${loss})`;
}

/** Make labels unique: add the directory name, then a number. */
function labelRuns(runs: readonly LabelledRun[]): LabelledRun[] {
  const count = (label: string, list: readonly LabelledRun[]) => list.filter((r) => r.label === label).length;
  const withDir = runs.map((r) => (count(r.label, runs) > 1 ? { ...r, label: `${r.label} [${basename(r.run.path)}]` } : r));
  const seen = new Map<string, number>();
  return withDir.map((r) => {
    if (count(r.label, withDir) === 1) return r;
    const n = (seen.get(r.label) ?? 0) + 1;
    seen.set(r.label, n);
    return { ...r, label: `${r.label} #${n}` };
  });
}

/** File-name-safe, unique slugs; never starting with `compare` (the comparison charts' prefix). */
function uniqueSlugs(labels: readonly string[]): string[] {
  const used = new Set<string>();
  return labels.map((label) => {
    let base = slugify(label);
    if (base.startsWith('compare')) base = `run-${base}`;
    let slug = base;
    for (let n = 2; used.has(slug); n++) slug = `${base}-${n}`;
    used.add(slug);
    return slug;
  });
}

function slugify(text: string): string {
  const s = text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return s === '' ? 'run' : s;
}
