/**
 * Error classes shared by every service. Each carries the offending values so that a
 * log line or a CLI message can name them; gRPC `Status` mapping happens only at handler
 * boundaries (see the coordinator/worker `errors.ts`).
 */

/** Base class: every error the project throws on purpose extends this. */
export class EncourageError extends Error {
  override readonly name: string = 'EncourageError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A configuration value (flag, JSON option, env var) is missing, unknown or out of range. */
export class ConfigError extends EncourageError {
  override readonly name = 'ConfigError';
  constructor(
    /** Dotted path of the offending key, e.g. `loss.logEnd`. */
    readonly key: string,
    /** The value that was rejected (undefined when the key was missing). */
    readonly value: unknown,
    /** What was expected, phrased for a human. */
    readonly expected: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid ${key}: ${describe(value)} (expected ${expected})`, options);
  }
}

/** Input data (a file, a JSON document) is malformed. */
export class InputError extends EncourageError {
  override readonly name = 'InputError';
  constructor(
    message: string,
    /** Where the bad input came from (file path, `stdin`, …). */
    readonly source: string,
    /** Byte offset or index into the input, when known. */
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(offset === undefined ? `${source}: ${message}` : `${source} at offset ${offset}: ${message}`, options);
  }
}

/** Render a value for an error message without dumping huge structures. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
