/**
 * A one-line byte progress bar for interactive terminals, redrawn in place with `\r` on
 * stderr (stdout is reserved for the final JSON line). It is written here rather than pulled
 * from npm because it is ~80 lines, and it draws nothing when the stream is not a TTY, so
 * logs captured by Kubernetes or CI never fill up with carriage returns.
 */

/** The subset of a stream the bar needs (`process.stderr` satisfies it). */
export interface ProgressStream {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/** What one frame shows. */
export interface ProgressFrame {
  label: string;
  receivedBytes: number;
  /** Undefined when the server sent no Content-Length. */
  totalBytes: number | undefined;
  elapsedMs: number;
  /** Terminal width in characters. */
  columns: number;
}

const MB = 1024 * 1024;

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/**
 * Render one frame, never wider than `columns − 1` (writing into the last column makes some
 * terminals wrap).
 */
export function formatProgress(frame: ProgressFrame): string {
  const { label, receivedBytes, totalBytes, elapsedMs } = frame;
  const rate = elapsedMs > 0 ? receivedBytes / (elapsedMs / 1000) : 0;
  const rateText = `${(rate / MB).toFixed(1)} MB/s`;
  const maxWidth = Math.max(10, frame.columns - 1);
  let line: string;
  if (totalBytes === undefined || totalBytes <= 0) {
    line = `${label} ${(receivedBytes / MB).toFixed(1)} MB ${rateText}`;
  } else {
    const fraction = Math.min(1, receivedBytes / totalBytes);
    const eta = rate > 0 ? (totalBytes - receivedBytes) / rate : Number.POSITIVE_INFINITY;
    const tail = ` ${(fraction * 100).toFixed(1).padStart(5)}% ${(receivedBytes / MB).toFixed(1)}/${(totalBytes / MB).toFixed(1)} MB ${rateText} ETA ${formatSeconds(eta)}`;
    const barWidth = Math.max(0, Math.min(40, maxWidth - label.length - tail.length - 3));
    const filled = Math.round(fraction * barWidth);
    const bar = barWidth > 0 ? ` [${'='.repeat(filled)}${' '.repeat(barWidth - filled)}]` : '';
    line = `${label}${bar}${tail}`;
  }
  return line.length > maxWidth ? line.slice(0, maxWidth) : line;
}

/** A progress bar bound to one stream. */
export interface ProgressBar {
  /** Record progress; redraws at most every `minIntervalMs` (and always at 100%). */
  update(receivedBytes: number, totalBytes: number | undefined): void;
  /** Draw the final frame and end the line (no-op if nothing was drawn); safe on failure paths. */
  finish(): void;
}

/**
 * Create a progress bar on `stream` (default stderr). On a non-TTY stream every call is a
 * no-op.
 * @param options.now clock in ms, injectable so tests can drive the throttle deterministically
 */
export function createProgressBar(options: {
  label: string;
  stream?: ProgressStream;
  minIntervalMs?: number;
  now?: () => number;
}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const minIntervalMs = options.minIntervalMs ?? 100;
  const startedMs = now();
  let lastDrawMs = Number.NEGATIVE_INFINITY;
  let last: { received: number; total: number | undefined } = { received: 0, total: undefined };
  let drawn = false;
  const draw = (t: number): void => {
    const frame = formatProgress({
      label: options.label,
      receivedBytes: last.received,
      totalBytes: last.total,
      elapsedMs: t - startedMs,
      columns: stream.columns ?? 80,
    });
    // \x1b[K clears what a longer previous frame left to the right.
    stream.write(`\r${frame}\x1b[K`);
    lastDrawMs = t;
    drawn = true;
  };
  return {
    update(receivedBytes, totalBytes) {
      if (stream.isTTY !== true) return;
      last = { received: receivedBytes, total: totalBytes };
      const t = now();
      if (t - lastDrawMs >= minIntervalMs || (totalBytes !== undefined && receivedBytes >= totalBytes)) draw(t);
    },
    finish() {
      // Nothing drawn (not a TTY, or no progress, e.g. a cache hit): nothing to close.
      if (stream.isTTY !== true || !drawn) return;
      draw(now());
      stream.write('\n');
      drawn = false; // idempotent: a second finish() writes nothing
    },
  };
}
