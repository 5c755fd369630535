import { pino, destination, stdTimeFunctions, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

/**
 * Create the process logger. Logs are JSON lines on stderr (stdout is reserved for the
 * one-line JSON summaries that every command prints last).
 */
export function createLogger(options: { level?: LevelWithSilent; name?: string; base?: Record<string, unknown> } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'encourage',
      base: { pid: process.pid, ...(options.base ?? {}) },
      timestamp: stdTimeFunctions.isoTime,
    },
    destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything: for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
