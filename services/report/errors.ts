/**
 * Report errors. Both are bad *input* (a path that is not a run directory, a metrics file that is
 * not what the trainers write), so they extend `InputError`: the CLI maps them to exit code 2 and
 * prints the message, which names the offending path, line and value.
 */
import { describe, EncourageError, InputError } from '../core/errors.js';

/** A path given as a run directory is not one (missing, not a directory, no metrics.jsonl). */
export class RunDirError extends InputError {
  constructor(
    /** The run directory as given. */
    readonly path: string,
    /** What is wrong with it, phrased for a human. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(problem, path, undefined, options);
  }
}

/** A record of `metrics.jsonl` that parses as JSON but not as a metrics record. */
export class MetricsRecordError extends InputError {
  constructor(
    /** Path of the metrics file. */
    readonly path: string,
    /** 1-based line number. */
    readonly line: number,
    /** The offending field (`type`, `step`, `binCounts`, …). */
    readonly field: string,
    /** The value that was rejected. */
    readonly value: unknown,
    /** What was expected. */
    readonly expected: string,
  ) {
    super(`line ${line}: invalid ${field}: ${describe(value)} (expected ${expected})`, path);
  }
}

/** Vega or resvg failed to render a chart (a bug in a chart spec, or a broken font setup). */
export class ChartRenderError extends EncourageError {
  override readonly name = 'ChartRenderError';
  constructor(
    /** The chart's id, e.g. `el-accuracy`. */
    readonly chartId: string,
    options?: { cause?: unknown },
  ) {
    super(`could not render chart ${chartId}: ${options?.cause instanceof Error ? options.cause.message : String(options?.cause)}`, options);
  }
}
