import { pino, destination, stdTimeFunctions, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import PinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

/**
 * Fields that change while a process runs (rank, generation, step) and belong on every log line.
 * A process binds one source once it knows where the values live (the worker's metrics, the
 * coordinator's run); until then, and if the source throws, lines carry none of them.
 */
export class LogFields {
  private source: (() => Record<string, unknown>) | null = null;

  /** Use `source` for every later log line (replaces an earlier source). */
  bind(source: () => Record<string, unknown>): void {
    this.source = source;
  }

  /** The current fields; undefined values are dropped. */
  current(): Record<string, unknown> {
    if (this.source === null) return {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(this.source())) if (v !== undefined) out[k] = v;
    return out;
  }
}

export interface LoggerOptions {
  readonly level?: LevelWithSilent;
  readonly name?: string;
  readonly base?: Record<string, unknown>;
  /**
   * Human-readable lines (pino-pretty) instead of JSON. The caller decides — typically
   * `process.stderr.isTTY` at the CLI — so libraries never look at the terminal themselves.
   */
  readonly pretty?: boolean;
  /** Dynamic fields added to every line (see LogFields). */
  readonly fields?: LogFields;
}

/** How pretty log lines look (shared by createLogger and prettyLogLine). */
const PRETTY_OPTIONS = { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' } as const;

/**
 * A formatter of JSON log lines into the pretty form createLogger writes on a terminal: for a
 * process that relays its children's JSON logs to a person (the local launcher's workers).
 * Lines that are not JSON come back unchanged.
 */
export function prettyLogLine(): (line: string) => string {
  const format = PinoPretty.prettyFactory(PRETTY_OPTIONS);
  return (line) => {
    if (!line.startsWith('{')) return line;
    try {
      return format(JSON.parse(line) as object).replace(/\n$/, '');
    } catch {
      return line;
    }
  };
}

/**
 * Create the process logger. Logs go to stderr (stdout is reserved for the one-line JSON
 * summaries that every command prints last): JSON lines for machines, or pino-pretty's
 * coloured lines when a person watches a terminal.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fields = options.fields;
  const stream: DestinationStream = options.pretty === true ? PinoPretty({ destination: 2, sync: true, ...PRETTY_OPTIONS }) : destination({ fd: 2, sync: true });
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'encourage',
      base: { pid: process.pid, ...(options.base ?? {}) },
      timestamp: stdTimeFunctions.isoTime,
      ...(fields === undefined
        ? {}
        : {
            // A field a child logger already binds (e.g. the worker runtime's rank) is not
            // repeated: duplicate keys would make the line ambiguous JSON.
            mixin: (_obj: object, _level: number, logger: Logger) => {
              const dynamic = fields.current();
              const bound = logger.bindings();
              for (const key of Object.keys(dynamic)) if (key in bound) delete dynamic[key];
              return dynamic;
            },
          }),
    },
    stream,
  );
}

/** A logger that drops everything: for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
