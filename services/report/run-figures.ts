/**
 * The headline figures of one run for the report's summary table (and the report command's JSON):
 * taken from the run's summary record when it has one, else derived from its epochs and steps, so
 * a report of a run still in progress (or one that died) shows what there is.
 */
import { highConfidenceBins, lastEpochShare } from './chart-data.js';
import type { RunData } from './load-run.js';

export interface RunFigures {
  readonly label: string;
  readonly experiment: string;
  readonly path: string;
  readonly loss: string;
  readonly model: string;
  /** Backend and device it computed on (`webgpu on nvidia nvidia-h200 — …`), null when unknown. */
  readonly compute: string | null;
  /** Workers of a distributed run (1 for a single-process run), null when unknown. */
  readonly workers: number | null;
  /** `finished` (summary written), `interrupted` (stopped by a signal, resumable) or `incomplete`. */
  readonly status: 'finished' | 'interrupted' | 'incomplete';
  readonly epochs: number;
  readonly configuredEpochs: number | null;
  readonly steps: number;
  /** Step records superseded by a redo of the same step (elastic recovery rollbacks). */
  readonly redoneSteps: number;
  readonly testAccuracy: number | null;
  readonly bestTestAccuracy: number | null;
  readonly trainAccuracy: number | null;
  /** Share of the last epoch's training logit-gradient mass from high-confidence bins. */
  readonly highConfidenceGradShare: number | null;
  /** Lower p_y edge of the high-confidence bins that share counts. */
  readonly highConfidenceFrom: number | null;
  /** Mean p_y of the last epoch's training examples. */
  readonly meanPy: number | null;
  readonly imagesPerSecond: number | null;
  readonly wallSeconds: number | null;
}

/** Compute a run's figures. */
export function runFigures(run: RunData, label: string): RunFigures {
  const { steps, epochs, summary, redoneSteps } = run.history;
  const s = summary ?? {};
  const tested = epochs.filter((e) => e.testAccuracy !== null).map((e) => e.testAccuracy!);
  const high = highConfidenceBins(run.edges, run.highConfidenceThreshold);
  const lastConfidence = [...epochs].reverse().find((e) => e.confidence !== null)?.confidence ?? null;
  const stepWorkers = steps.find((x) => x.workers !== null)?.workers ?? null;
  return {
    label,
    experiment: run.experiment,
    path: run.path,
    loss: run.loss,
    model: run.model,
    compute: computeOf(s),
    workers: num(s['workers']) ?? stepWorkers ?? (summary !== null ? 1 : null),
    status: summary === null ? 'incomplete' : s['interrupted'] === true ? 'interrupted' : 'finished',
    epochs: epochs.length,
    configuredEpochs: run.configuredEpochs,
    steps: Math.max(steps.at(-1)?.step ?? 0, epochs.at(-1)?.step ?? 0),
    redoneSteps,
    testAccuracy: tested.at(-1) ?? null,
    bestTestAccuracy: tested.length > 0 ? Math.max(...tested) : null,
    trainAccuracy: epochs.at(-1)?.trainAccuracy ?? null,
    highConfidenceGradShare: lastEpochShare(epochs, high),
    highConfidenceFrom: high.length > 0 ? run.edges[high[0]!]! : null,
    meanPy: lastConfidence?.meanPy ?? null,
    imagesPerSecond: num(s['imagesPerSecond']),
    wallSeconds: num(s['wallSeconds']),
  };
}

/** "backend on device" from a summary (older runs record only the backend). */
function computeOf(s: Record<string, unknown>): string | null {
  const backend = typeof s['backend'] === 'string' ? s['backend'] : null;
  const device = typeof s['device'] === 'string' && s['device'] !== '' ? s['device'] : null;
  if (backend === null) return device;
  return device === null ? backend : `${backend} on ${device}`;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
