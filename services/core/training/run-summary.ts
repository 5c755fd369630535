/**
 * The JSON summary every training run ends with (the last stdout line), shared by the
 * single-process trainer and the coordinator of a distributed run, which adds its own fields.
 */
import type { EpochRecord } from './checkpoint-meta.js';
import type { ConfidenceTable } from './confidence.js';

export interface RunSummary {
  readonly experiment: string;
  readonly model: string;
  /** Loss preset name, or `custom`. */
  readonly loss: string;
  readonly backend: string;
  /** What it computed on: the GPU adapter (vendor, device — description) or `cpu`; several joined by `; `. */
  readonly device: string;
  readonly epochs: number;
  readonly steps: number;
  /** Test accuracy (0–1) after the last evaluated epoch. */
  readonly testAccuracy: number | null;
  readonly bestTestAccuracy: number | null;
  readonly trainAccuracy: number;
  readonly imagesPerSecond: number;
  readonly wallSeconds: number;
  readonly runDir: string;
  /** Confidence-bin table of the last epoch's training examples. */
  readonly confidence: ConfidenceTable;
  readonly history: readonly EpochRecord[];
}

/** Last, best and training accuracy from an epoch history. */
export function accuracyFigures(history: readonly EpochRecord[]): Pick<RunSummary, 'testAccuracy' | 'bestTestAccuracy' | 'trainAccuracy'> {
  const tested = history.filter((h) => h.testAccuracy !== null).map((h) => h.testAccuracy!);
  return {
    testAccuracy: tested.at(-1) ?? null,
    bestTestAccuracy: tested.length > 0 ? Math.max(...tested) : null,
    trainAccuracy: history.at(-1)?.trainAccuracy ?? 0,
  };
}
