/**
 * Errors of the `encourage` command itself (the local launcher), each carrying the offending
 * values. Errors of the run's configuration are the shared ConfigError/InputError.
 */
import { EncourageError } from '../core/errors.js';

/** How a process ended, as the launcher reports it: `code 1` or `signal SIGKILL`. */
export function describeExit(code: number | null, signal: string | null): string {
  return signal !== null ? `signal ${signal}` : `code ${code}`;
}

/**
 * A local run lost a worker for good (its restarts used up, or it left) and fewer than
 * `--min-workers` remain: the launcher stops the run. Names the worker, how it exited and the last
 * thing it logged, which is usually why.
 */
export class TooFewWorkersError extends EncourageError {
  override readonly name = 'TooFewWorkersError';
  constructor(
    /** `--local-index` of the worker whose exit ended the run. */
    readonly worker: number,
    readonly code: number | null,
    readonly signal: string | null,
    /** Its last log line (stack frames skipped), '' if it logged nothing. */
    readonly lastLogLine: string,
    /** Restarts made so far (all workers) and the budget. */
    readonly restarts: number,
    readonly maxRestarts: number,
    /** Workers still running, and the minimum the run needs. */
    readonly remaining: number,
    readonly minWorkers: number,
  ) {
    const why = code === 0 && signal === null ? 'left the run' : `exited with ${describeExit(code, signal)}${restarts >= maxRestarts ? ` after ${restarts} restart(s), --max-restarts ${maxRestarts} used up` : ''}`;
    super(`worker ${worker} ${why}; ${remaining} worker(s) remain, fewer than --min-workers ${minWorkers}; its last log line: ${lastLogLine === '' ? '(none)' : lastLogLine}`);
  }
}
