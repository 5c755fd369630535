/**
 * The records of `metrics.jsonl` as the report reads them: parsed line by line, validated and
 * narrowed to the fields the charts use. The writers are `services/worker/train/trainer.ts`
 * (single process) and `services/coordinator/run/run-state.ts` (distributed); both write the
 * same `step` / `epoch` / `summary` shapes.
 *
 * Numbers may be `null` where the run produced NaN or ±Infinity (JSON.stringify writes those as
 * null, e.g. a diverged loss): such values become `null` here and the charts leave a gap. A line
 * that is not JSON is a line torn by a crash mid-append (`RunDir.readMetrics` skips those too);
 * it is counted, not fatal. Anything else malformed is an error naming the line and field.
 */
import { MetricsRecordError } from './errors.js';

/** One training step (the merged step of all ranks in a distributed run). */
export interface StepRecord {
  readonly step: number;
  readonly epoch: number;
  readonly loss: number | null;
  readonly base: number | null;
  readonly bonus: number | null;
  readonly accuracy: number | null;
  readonly lr: number | null;
  readonly imagesPerSecond: number | null;
  /** Examples per p_y bin. */
  readonly binCounts: readonly number[];
  /** Mean ‖∂L_i/∂f_i‖ of each bin's examples (0 for an empty bin, as written). */
  readonly binMeanGradNorm: readonly (number | null)[];
  readonly meanPy: number | null;
  readonly meanMargin: number | null;
  /** Sampled parameter-gradient norms of the high / low-confidence examples (sampled steps only). */
  readonly paramGradNormHigh: number | null;
  readonly paramGradNormLow: number | null;
  /** Ranks that contributed (distributed runs only). */
  readonly workers: number | null;
}

/** The confidence table of an epoch's training examples. */
export interface EpochConfidence {
  readonly bins: readonly { readonly lo: number; readonly hi: number; readonly count: number; readonly meanGradNorm: number | null; readonly gradMassShare: number | null }[];
  readonly meanPy: number | null;
}

/** One epoch. */
export interface EpochRecord {
  readonly epoch: number;
  /** Global step at the end of the epoch. */
  readonly step: number;
  readonly trainLoss: number | null;
  readonly trainAccuracy: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
  readonly confidence: EpochConfidence | null;
}

export type MetricsEntry =
  | { readonly type: 'step'; readonly line: number; readonly record: StepRecord }
  | { readonly type: 'epoch'; readonly line: number; readonly record: EpochRecord }
  | { readonly type: 'summary'; readonly line: number; readonly record: Readonly<Record<string, unknown>> }
  /** A distributed run's ring (re-)formation: generation, reason, workers, where training resumed. */
  | { readonly type: 'rendezvous'; readonly line: number; readonly record: Readonly<Record<string, unknown>> };

export interface ParsedMetrics {
  readonly entries: readonly MetricsEntry[];
  /** Lines that were not JSON (torn by a crash mid-append). */
  readonly tornLines: number;
}

/** Parse and validate the text of a metrics file; `path` names it in errors. */
export function parseMetricsText(text: string, path: string): ParsedMetrics {
  const entries: MetricsEntry[] = [];
  let tornLines = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      tornLines++;
      continue;
    }
    entries.push(parseRecord(value, new FieldReader(path, i + 1)));
  }
  return { entries, tornLines };
}

function parseRecord(value: unknown, r: FieldReader): MetricsEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw r.fail('record', value, 'a JSON object');
  const rec = value as Record<string, unknown>;
  r.record = rec;
  const type = rec['type'];
  if (type === 'summary' || type === 'rendezvous') return { type, line: r.line, record: rec };
  if (type === 'step') {
    const step = r.count('step');
    const epoch = r.count('epoch');
    const binCounts = r.numbers('binCounts');
    const binMeanGradNorm = r.nullableNumbers('binMeanGradNorm');
    if (binMeanGradNorm.length !== binCounts.length) throw r.fail('binMeanGradNorm', binMeanGradNorm, `${binCounts.length} values, one per bin of binCounts`);
    return {
      type, line: r.line,
      record: {
        step, epoch,
        loss: r.num('loss'), base: r.num('base'), bonus: r.num('bonus'), accuracy: r.num('accuracy'), lr: r.num('lr'),
        imagesPerSecond: r.num('imagesPerSecond'), binCounts, binMeanGradNorm, meanPy: r.num('meanPy'), meanMargin: r.num('meanMargin'),
        paramGradNormHigh: r.num('paramGradNormHigh'), paramGradNormLow: r.num('paramGradNormLow'), workers: r.num('workers'),
      },
    };
  }
  if (type === 'epoch') {
    return {
      type, line: r.line,
      record: {
        epoch: r.count('epoch'), step: r.count('step'),
        trainLoss: r.num('trainLoss'), trainAccuracy: r.num('trainAccuracy'), testLoss: r.num('testLoss'), testAccuracy: r.num('testAccuracy'),
        confidence: parseConfidence(rec['confidence'], r),
      },
    };
  }
  throw r.fail('type', type, '"step", "epoch", "rendezvous" or "summary"');
}

function parseConfidence(value: unknown, r: FieldReader): EpochConfidence | null {
  if (value === undefined || value === null) return null;
  const table = value as { bins?: unknown; meanPy?: unknown };
  if (typeof value !== 'object' || !Array.isArray(table.bins)) throw r.fail('confidence', value, 'a confidence table with a bins array');
  const bins = table.bins.map((b: unknown, i) => {
    const bin = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
    const { lo, hi, count } = bin;
    if (typeof lo !== 'number' || typeof hi !== 'number' || typeof count !== 'number') throw r.fail(`confidence.bins[${i}]`, b, 'an object with numeric lo, hi and count');
    return { lo, hi, count, meanGradNorm: finiteOrNull(bin['meanGradNorm']), gradMassShare: finiteOrNull(bin['gradMassShare']) };
  });
  return { bins, meanPy: finiteOrNull(table.meanPy) };
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Reads typed fields of one record, failing with the line and field named. */
class FieldReader {
  record: Record<string, unknown> = {};
  constructor(
    readonly path: string,
    readonly line: number,
  ) {}

  fail(field: string, value: unknown, expected: string): MetricsRecordError {
    return new MetricsRecordError(this.path, this.line, field, value, expected);
  }

  /** A non-negative integer (steps, epochs). */
  count(field: string): number {
    const v = this.record[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw this.fail(field, v, 'a non-negative integer');
    return v;
  }

  /** An optional number; null/absent (NaN or ±Infinity when written) is null. */
  num(field: string): number | null {
    const v = this.record[field];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number') throw this.fail(field, v, 'a number or null');
    return v;
  }

  numbers(field: string): number[] {
    const v = this.record[field];
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)) {
      throw this.fail(field, v, 'a non-empty array of non-negative numbers');
    }
    return v as number[];
  }

  nullableNumbers(field: string): (number | null)[] {
    const v = this.record[field];
    if (!Array.isArray(v) || !v.every((x) => x === null || typeof x === 'number')) throw this.fail(field, v, 'an array of numbers');
    return v as (number | null)[];
  }
}
