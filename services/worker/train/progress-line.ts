/**
 * The training progress line: redrawn in place on a TTY (stderr), silent otherwise — where the
 * per-epoch pino log lines are the progress record instead.
 */
export interface ProgressLine {
  update(text: string, fraction: number): void;
  done(): void;
}

export const PROGRESS_REDRAW_INTERVAL_MS = 200;

/** Create a progress line on `stream` (stderr by default). */
export function createProgressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const tty = stream.isTTY === true;
  let last = 0;
  let drawn = false;
  return {
    update(text, fraction) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < PROGRESS_REDRAW_INTERVAL_MS && fraction < 1) return;
      last = now;
      const width = 24;
      const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
      const line = `[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${text}`;
      stream.write(`\r${line.slice(0, Math.max(10, (stream.columns ?? 100) - 1))}\x1b[K`);
      drawn = true;
    },
    done() {
      if (tty && drawn) stream.write('\n');
      drawn = false;
    },
  };
}
