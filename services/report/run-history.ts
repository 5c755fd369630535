/**
 * One history from an append-only metrics log. After elastic recovery the coordinator rolls the
 * run back to its last checkpoint and redoes the steps after it, so `metrics.jsonl` can hold the
 * same step (and, if the rollback crossed an epoch end, the same epoch) more than once. The
 * record written last is the one of the history the run went on with: the last occurrence wins.
 */
import type { EpochRecord, MetricsEntry, StepRecord } from './metrics-records.js';

export interface RunHistory {
  /** One record per step, ascending. */
  readonly steps: readonly StepRecord[];
  /** One record per epoch, ascending. */
  readonly epochs: readonly EpochRecord[];
  /** The last summary record, if the run wrote one. */
  readonly summary: Readonly<Record<string, unknown>> | null;
  /** Step records superseded by a later record of the same step (steps redone after rollbacks). */
  readonly redoneSteps: number;
  /** Epoch records superseded by a later record of the same epoch. */
  readonly redoneEpochs: number;
}

/** Reduce parsed entries (in file order) to one history. */
export function buildHistory(entries: readonly MetricsEntry[]): RunHistory {
  const steps = new Map<number, StepRecord>();
  const epochs = new Map<number, EpochRecord>();
  let summary: Readonly<Record<string, unknown>> | null = null;
  let redoneSteps = 0;
  let redoneEpochs = 0;
  for (const e of entries) {
    if (e.type === 'step') {
      if (steps.has(e.record.step)) redoneSteps++;
      steps.set(e.record.step, e.record);
    } else if (e.type === 'epoch') {
      if (epochs.has(e.record.epoch)) redoneEpochs++;
      epochs.set(e.record.epoch, e.record);
    } else {
      summary = e.record;
    }
  }
  return {
    steps: [...steps.values()].sort((a, b) => a.step - b.step),
    epochs: [...epochs.values()].sort((a, b) => a.epoch - b.epoch),
    summary,
    redoneSteps,
    redoneEpochs,
  };
}
