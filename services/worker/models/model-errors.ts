/**
 * Errors raised by the model code. Both extend the project's `EncourageError` so that the CLI and
 * the worker's gRPC boundary can report them uniformly.
 */
import { EncourageError } from '../../core/errors.js';

/**
 * Model state does not fit the model: a checkpoint tensor is missing, unexpected or has the wrong
 * size, a gradient is missing for a param, or a flat all-reduce buffer has the wrong length.
 * `tensorName` names the offending tensor (state-dict key) so that a log line points at it.
 */
export class ModelStateError extends EncourageError {
  override readonly name = 'ModelStateError';
  constructor(
    /** State-dict key of the offending tensor (or a description such as `flat buffer`). */
    readonly tensorName: string,
    /** What is wrong, phrased for a human. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`model state ${JSON.stringify(tensorName)}: ${problem}`, options);
  }
}

/** The input batch given to `Model.apply` has the wrong rank, dtype or shape for this model. */
export class ModelInputError extends EncourageError {
  override readonly name = 'ModelInputError';
  constructor(
    /** Model (registry) name. */
    readonly model: string,
    /** The expected input, phrased for a human. */
    readonly expected: string,
    /** Shape of the rejected tensor. */
    readonly actualShape: readonly number[],
    /** Dtype of the rejected tensor. */
    readonly actualDtype: string,
  ) {
    super(`${model}: input ${actualDtype}[${actualShape.join(',')}] rejected (expected ${expected})`);
  }
}
