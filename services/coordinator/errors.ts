/**
 * Coordinator error classes, each carrying the offending values, and their mapping to gRPC
 * status codes — applied only at the handler boundary (server.ts).
 */
import { status } from '@grpc/grpc-js';
import { ConfigError, EncourageError, InputError, describe } from '../core/errors.js';

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
  constructor(
    readonly workerId: string,
    readonly detail = 'never registered, or removed after a missed heartbeat deadline: register again',
  ) {
    super(`unknown worker ${JSON.stringify(workerId)} (${detail})`);
  }
}

/** The run cannot take another worker. */
export class RunFullError extends EncourageError {
  override readonly name = 'RunFullError';
  constructor(
    readonly maxWorkers: number,
    readonly detail = `the run already has its maximum of ${maxWorkers} workers`,
  ) {
    super(detail);
  }
}

/** The run has finished or is stopping: a late worker has nothing to do and should exit. */
export class RunOverError extends EncourageError {
  override readonly name = 'RunOverError';
  constructor(readonly experiment: string) {
    super(`run ${experiment} has finished or is stopping`);
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

/** A rank reported a NaN/Inf under `--on-nonfinite stop`: the run ends as failed. */
export class NonFiniteError extends EncourageError {
  override readonly name = 'NonFiniteError';
  constructor(readonly detail: string) {
    super(`non-finite values: ${detail}`);
  }
}

/** Fewer than minWorkers re-joined within the rendezvous timeout: the run ends as failed. */
export class StarvedError extends EncourageError {
  override readonly name = 'StarvedError';
  constructor(
    readonly workers: number,
    readonly minWorkers: number,
    readonly timeoutMs: number,
  ) {
    super(`only ${workers} of the required ${minWorkers} workers re-joined within ${timeoutMs} ms`);
  }
}

/** Map an error to the gRPC status a handler returns. */
export function grpcStatusOf(err: unknown): status {
  if (err instanceof StaleGenerationError) return status.FAILED_PRECONDITION;
  if (err instanceof UnknownWorkerError) return status.NOT_FOUND;
  if (err instanceof RunFullError) return status.RESOURCE_EXHAUSTED;
  if (err instanceof RunOverError) return status.ABORTED;
  if (err instanceof JoinRejectedError) return status.PERMISSION_DENIED;
  if (err instanceof BadReportError || err instanceof ConfigError || err instanceof InputError) return status.INVALID_ARGUMENT;
  return status.INTERNAL;
}

// --- Kubernetes manifests (k8s/manifest-validation.ts) ---

/** A Kubernetes object fails its schema: names the object, the failing field path and the problem. */
export class ManifestInvalidError extends EncourageError {
  override readonly name = 'ManifestInvalidError';
  constructor(
    /** `Kind namespace/name` (or `Kind name`), plus the source file when known. */
    readonly object: string,
    /** Dotted path of the failing field, e.g. `spec.optimizer.momentum` (`(root)` for the object). */
    readonly path: string,
    /** What is wrong, e.g. `must be < 1` or `unknown field`. */
    readonly problem: string,
    /** The offending value (undefined for a missing field). */
    readonly value?: unknown,
  ) {
    super(`${object}: ${path}: ${problem}${value === undefined ? '' : ` (got ${describe(value)})`}`);
  }
}

/** An object whose apiVersion/kind no schema is available for. */
export class UnknownKindError extends EncourageError {
  override readonly name = 'UnknownKindError';
  constructor(
    readonly apiVersion: unknown,
    readonly kind: unknown,
    readonly object: string,
    readonly reason: string,
  ) {
    super(`${object}: no schema for apiVersion ${describe(apiVersion)} kind ${describe(kind)}: ${reason}`);
  }
}

/** A CRD schema uses a construct the validator cannot check (e.g. CEL `x-kubernetes-validations`). */
export class UnsupportedSchemaError extends EncourageError {
  override readonly name = 'UnsupportedSchemaError';
  constructor(
    readonly crd: string,
    readonly path: string,
    readonly keyword: string,
  ) {
    super(`CRD ${crd}: ${path}: ${keyword} is not supported by the validator`);
  }
}

/** A grpc.health.v1 probe got no answer (unreachable, deadline, unknown service). */
export class HealthCheckError extends EncourageError {
  override readonly name = 'HealthCheckError';
  constructor(
    readonly address: string,
    readonly service: string,
    readonly reason: string,
  ) {
    super(`health check of ${address} (service ${JSON.stringify(service)}) failed: ${reason}`);
  }
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
