/**
 * Load a run directory for the report: `metrics.jsonl` (required: it is what the report shows)
 * and `config.json` (optional: it names the loss, the model and the confidence-bin edges; runs
 * whose config is missing fall back to what the records themselves say).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CONFIG_FILE, METRICS_FILE } from '../core/training/run-dir.js';
import { DEFAULT_CONFIDENCE_EDGES, DEFAULT_HIGH_CONFIDENCE_THRESHOLD } from '../core/training/confidence.js';
import { MetricsRecordError, RunDirError } from './errors.js';
import { parseMetricsText } from './metrics-records.js';
import { buildHistory, type RunHistory } from './run-history.js';

export interface RunData {
  /** The run directory, absolute. */
  readonly path: string;
  readonly experiment: string;
  /** Loss preset name, or `custom`, or `unknown` without config and summary. */
  readonly loss: string;
  /** The loss options as configured (for the report's run header), or null. */
  readonly lossOptions: unknown;
  readonly model: string;
  /** p_y bin edges, one more than the bins of every step record. */
  readonly edges: readonly number[];
  /** p_y above which an example is high-confidence (the parameter-gradient split uses it too). */
  readonly highConfidenceThreshold: number;
  /** Epochs the run was configured for, when known. */
  readonly configuredEpochs: number | null;
  /** Steps per epoch, when the records tell (for comparing runs on an epoch axis). */
  readonly stepsPerEpoch: number | null;
  readonly history: RunHistory;
  /** Lines of metrics.jsonl that were not JSON (torn by a crash mid-append). */
  readonly tornLines: number;
}

/** Read and validate one run directory. */
export async function loadRun(dir: string): Promise<RunData> {
  const path = resolve(dir);
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new RunDirError(dir, 'no such run directory', { cause: err });
  }
  if (!info.isDirectory()) throw new RunDirError(dir, 'not a directory (expected a run directory holding metrics.jsonl)');
  const metricsPath = resolve(path, METRICS_FILE);
  let text: string;
  try {
    text = await readFile(metricsPath, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RunDirError(dir, missing ? `no ${METRICS_FILE} in this directory: not a run directory, or the run has not recorded a step yet` : `cannot read ${metricsPath}`, { cause: err });
  }
  const { entries, tornLines } = parseMetricsText(text, metricsPath);
  const history = buildHistory(entries);
  if (history.steps.length === 0 && history.epochs.length === 0) throw new RunDirError(dir, `${METRICS_FILE} holds no step or epoch records yet`);
  const config = await readConfig(path, dir);
  const summary = history.summary ?? {};
  const firstBins = history.steps[0]?.binCounts.length ?? history.epochs.find((e) => e.confidence !== null)?.confidence?.bins.length ?? 0;
  const edges = binEdges(config, history, firstBins);
  for (const e of entries) {
    if (e.type === 'step' && e.record.binCounts.length !== edges.length - 1) {
      throw new MetricsRecordError(metricsPath, e.line, 'binCounts', e.record.binCounts, `${edges.length - 1} bins (edges ${edges.join(', ')})`);
    }
  }
  const loss = config['loss'] as { preset?: unknown } | undefined;
  return {
    path,
    experiment: stringOr(config['experiment'], stringOr(summary['experiment'], 'unnamed')),
    loss: typeof loss?.preset === 'string' ? loss.preset : loss !== undefined ? 'custom' : stringOr(summary['loss'], 'unknown'),
    lossOptions: loss ?? null,
    model: stringOr(config['model'], stringOr(summary['model'], 'unknown')),
    edges,
    highConfidenceThreshold: typeof config['highConfidenceThreshold'] === 'number' ? config['highConfidenceThreshold'] : DEFAULT_HIGH_CONFIDENCE_THRESHOLD,
    configuredEpochs: typeof config['epochs'] === 'number' ? config['epochs'] : null,
    stepsPerEpoch: stepsPerEpoch(history),
    history,
    tornLines,
  };
}

async function readConfig(path: string, dir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(resolve(path, CONFIG_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RunDirError(dir, `cannot read ${CONFIG_FILE}`, { cause: err });
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('top level must be an object');
    return doc as Record<string, unknown>;
  } catch (err) {
    throw new RunDirError(dir, `invalid ${CONFIG_FILE} (${(err as Error).message})`, { cause: err });
  }
}

/** Edges from config.json, else from an epoch's confidence table, else the defaults if they fit. */
function binEdges(config: Record<string, unknown>, history: RunHistory, recordBins: number): number[] {
  const configured = config['confidenceEdges'];
  const configuredOk = Array.isArray(configured) && configured.length >= 2 && configured.every((e) => typeof e === 'number');
  // No record carries bins (only epochs without confidence tables): whatever the config says.
  const bins = recordBins > 0 ? recordBins : configuredOk ? configured.length - 1 : DEFAULT_CONFIDENCE_EDGES.length - 1;
  if (configuredOk && configured.length === bins + 1) return configured as number[];
  const table = history.epochs.find((e) => e.confidence !== null && e.confidence.bins.length === bins)?.confidence;
  if (table !== undefined && table !== null) return [...table.bins.map((b) => b.lo), table.bins.at(-1)!.hi];
  if (DEFAULT_CONFIDENCE_EDGES.length === bins + 1) return [...DEFAULT_CONFIDENCE_EDGES];
  // Unknown edges: equal-width bins keep the charts readable; labels still say which bin is which.
  return Array.from({ length: bins + 1 }, (_, i) => i / bins);
}

/** Steps per epoch: from the first epoch record, else from the steps of a finished first epoch. */
function stepsPerEpoch(history: RunHistory): number | null {
  const first = history.epochs[0];
  if (first !== undefined && first.epoch > 0 && first.step > 0) return first.step / first.epoch;
  const later = history.steps.find((s) => s.epoch > 1);
  if (later === undefined) return null;
  const inFirst = history.steps.filter((s) => s.epoch === 1);
  return inFirst.length > 0 ? Math.max(...inFirst.map((s) => s.step)) : null;
}

function stringOr(v: unknown, fallback: string): string {
  return typeof v === 'string' && v !== '' ? v : fallback;
}
