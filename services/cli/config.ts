/**
 * Settings of the local launcher (`encourage train --workers N`): how many worker processes, how
 * often a dead one is restarted and with what backoff, and how few the run may go on with —
 * torchrun's `--nproc-per-node`, `--max-restarts` and `--nnodes MIN:MAX` for one machine. Typed
 * and validated here; the run's own settings are the shared `TrainConfig`.
 */
import { ConfigError } from '../core/errors.js';

/** Most worker processes one launcher starts. */
export const MAX_LOCAL_WORKERS = 64;
/** Default `--max-restarts`: worker restarts the launcher makes in total before it stops restarting. */
export const DEFAULT_MAX_RESTARTS = 3;
/** Upper bound of `--max-restarts` (a crash loop should not go on for days). */
export const MAX_MAX_RESTARTS = 1_000;
/**
 * Wait before the first restart of a worker; doubles with each further restart of the same worker
 * (up to RESTART_BACKOFF_MAX_MS), so a worker that crashes at start does not spin.
 */
export const RESTART_BACKOFF_MS = 1_000;
export const RESTART_BACKOFF_MAX_MS = 30_000;
/**
 * How long the first rendezvous waits for all N workers once `--min-workers` have registered. The
 * launcher started all N, so it waits for the slow ones (a loaded machine starts processes slowly)
 * rather than start a smaller ring; a worker the launcher gives up on ends the wait at once.
 */
export const LOCAL_RENDEZVOUS_GRACE_MS = 60_000;
/**
 * Local workers give up on an unreachable coordinator after this long (instead of the 10 minutes a
 * pod waits for a restarting coordinator pod): the coordinator lives in the launcher process, so
 * it being unreachable means the launcher is gone, and its orphaned workers should not linger.
 */
export const LOCAL_COORDINATOR_TIMEOUT_MS = 30_000;
/** How long workers get to exit after the run ended before they are killed. */
export const WORKER_EXIT_GRACE_MS = 10_000;

export interface LauncherConfig {
  /** Worker processes to start. */
  readonly workers: number;
  /** The run goes on while at least this many workers remain (restarts used up); below, it stops. */
  readonly minWorkers: number;
  /** Worker restarts in total, over all workers (torchrun's `--max-restarts`). */
  readonly maxRestarts: number;
}

/** Validate `--workers`, `--min-workers` and `--max-restarts` (strings from flags, or numbers). */
export function parseLauncherConfig(raw: { workers?: unknown; minWorkers?: unknown; maxRestarts?: unknown }): LauncherConfig {
  const workers = int('workers', raw.workers, undefined, 1, MAX_LOCAL_WORKERS);
  return {
    workers,
    minWorkers: int('min-workers', raw.minWorkers, 1, 1, workers, ` (at most --workers ${workers})`),
    maxRestarts: int('max-restarts', raw.maxRestarts, DEFAULT_MAX_RESTARTS, 0, MAX_MAX_RESTARTS),
  };
}

function int(flag: string, value: unknown, fallback: number | undefined, min: number, max: number, why = ''): number {
  const v = value ?? fallback;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new ConfigError(flag, value, `an integer in [${min}, ${max}]${why}`);
  return n;
}

/** Backoff before restart number `k` (1-based) of one worker. */
export function restartBackoffMs(k: number): number {
  return Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_MS * 2 ** Math.max(0, k - 1));
}
