/** Errors of the metrics endpoint, carrying the offending address. */
import { EncourageError } from '../errors.js';

/** The `/metrics` server could not bind its address (port in use, address not local, …). */
export class MetricsListenError extends EncourageError {
  override readonly name = 'MetricsListenError';
  constructor(
    readonly host: string,
    readonly port: number,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`cannot serve metrics on ${host}:${port}${code === undefined ? '' : ` (${code})`}; choose another --metrics-port, 0 for an ephemeral one, or "off"`, options);
  }
}
