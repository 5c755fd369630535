/**
 * A local worker's stderr, relayed line by line to the launcher's own stderr (re-rendered the way
 * the launcher's logs look: pretty on a terminal, JSON otherwise), while remembering the last line
 * that says something — what the launcher quotes when the worker dies for good.
 */
import type { Readable } from 'node:stream';

/** Longest last-line excerpt kept (a JSON log line with a stack can be long). */
export const LAST_LINE_MAX_CHARS = 500;

export class WorkerOutput {
  private partial = '';
  private last = '';

  /**
   * @param stream the child's stderr
   * @param write where relayed lines go (one call per line, without the newline)
   */
  constructor(stream: Readable, private readonly write: (line: string) => void) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (this.partial + chunk).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) this.line(line);
    });
    stream.on('end', () => {
      if (this.partial !== '') this.line(this.partial);
      this.partial = '';
    });
  }

  /** The last meaningful line so far ('' if none): a log line's message (and error), or the raw line. */
  lastLine(): string {
    return this.last;
  }

  private line(line: string): void {
    this.write(line);
    const text = summarise(line);
    if (text !== '') this.last = text.length > LAST_LINE_MAX_CHARS ? `${text.slice(0, LAST_LINE_MAX_CHARS - 1)}…` : text;
  }
}

/**
 * What a line says, for an error message: a pino JSON line becomes `msg: err`; a stack frame
 * (`    at …`) or a blank line says nothing (the error line above it is the one that matters).
 */
export function summarise(line: string): string {
  const t = line.trim();
  if (t === '' || /^at\s/.test(t)) return '';
  if (!t.startsWith('{')) return t;
  try {
    const doc = JSON.parse(t) as { msg?: unknown; err?: unknown };
    const err = typeof doc.err === 'string' ? doc.err : typeof doc.err === 'object' && doc.err !== null ? String((doc.err as { message?: unknown }).message ?? '') : '';
    const msg = typeof doc.msg === 'string' ? doc.msg : '';
    if (msg === '' && err === '') return t;
    return err === '' ? msg : msg === '' ? err : `${msg}: ${err}`;
  } catch {
    return t;
  }
}
