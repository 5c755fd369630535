/**
 * Coordinator error classes, each carrying the offending values, and their mapping to gRPC
 * status codes — applied only at the handler boundary (server.ts).
 */
import { status } from '@grpc/grpc-js';
import { ConfigError, EncourageError, InputError } from '../core/errors.js';

/** A message of another generation than the current one (a stale or premature worker). */
export class StaleGenerationError extends EncourageError {
  override readonly name = 'StaleGenerationError';
  constructor(
    readonly got: number,
    readonly current: number,
    readonly workerId: string,
  ) {
    super(`worker ${workerId} sent generation ${got}, current generation is ${current}`);
  }
}

/** A worker id the coordinator does not know (never registered, or already removed). */
export class UnknownWorkerError extends EncourageError {
  override readonly name = 'UnknownWorkerError';
  constructor(readonly workerId: string) {
    super(`unknown worker ${JSON.stringify(workerId)}`);
  }
}

/** The run cannot take another worker. */
export class RunFullError extends EncourageError {
  override readonly name = 'RunFullError';
  constructor(readonly maxWorkers: number) {
    super(`the run already has its maximum of ${maxWorkers} workers`);
  }
}

/** A registration without the run's join token, or with the wrong one. */
export class JoinRejectedError extends EncourageError {
  override readonly name = 'JoinRejectedError';
  constructor(readonly reason: string) {
    super(`join rejected: ${reason}`);
  }
}

/** A report or upload that does not fit the run (wrong rank, step, sizes). */
export class BadReportError extends EncourageError {
  override readonly name = 'BadReportError';
  constructor(
    message: string,
    readonly field: string,
    readonly value: unknown,
  ) {
    super(`${field}: ${message} (got ${JSON.stringify(value)})`);
  }
}

/** Map an error to the gRPC status a handler returns. */
export function grpcStatusOf(err: unknown): status {
  if (err instanceof StaleGenerationError) return status.FAILED_PRECONDITION;
  if (err instanceof UnknownWorkerError) return status.NOT_FOUND;
  if (err instanceof RunFullError) return status.RESOURCE_EXHAUSTED;
  if (err instanceof JoinRejectedError) return status.PERMISSION_DENIED;
  if (err instanceof BadReportError || err instanceof ConfigError || err instanceof InputError) return status.INVALID_ARGUMENT;
  return status.INTERNAL;
}

/** A Kubernetes API call of the operator or the status writer failed. */
export class KubeApiError extends EncourageError {
  override readonly name = 'KubeApiError';
  constructor(
    message: string,
    /** What was attempted, e.g. `create pods default/exp-worker-0`. */
    readonly operation: string,
    /** HTTP status of the API server's answer (0: no answer). */
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(`${operation}: ${message}${statusCode === 0 ? '' : ` (HTTP ${statusCode})`}`, options);
  }
}
