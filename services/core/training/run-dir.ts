/**
 * A run directory: `config.json`, append-only `metrics.jsonl` (one JSON object per step and per
 * epoch, which reports and dashboards read later) and `checkpoints/`. On resume, metrics past the
 * checkpoint's step are dropped so the file describes exactly one history.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const METRICS_FILE = 'metrics.jsonl';
export const CONFIG_FILE = 'config.json';

export interface MetricsRecord {
  readonly type: 'step' | 'epoch' | 'summary' | 'rendezvous';
  readonly step: number;
  readonly [key: string]: unknown;
}

/** Called with every record as it is queued (before it is serialized, so NaN stays NaN). */
export type RecordListener = (rec: MetricsRecord) => void;

export class RunDir {
  private pending: string[] = [];
  /** File operations run one after the other, so a truncation never races an append. */
  private chain: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<RecordListener>();

  constructor(readonly path: string) {}

  get metricsPath(): string {
    return join(this.path, METRICS_FILE);
  }

  /** Create the directory and write the resolved config (pretty JSON, for humans and `report`). */
  async init(config: unknown): Promise<void> {
    await mkdir(this.path, { recursive: true });
    const tmp = join(this.path, `.${CONFIG_FILE}.tmp`);
    await writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`);
    await rename(tmp, join(this.path, CONFIG_FILE));
  }

  /** Queue a record; `flush` writes queued records in one append. Listeners see it at once. */
  record(rec: MetricsRecord): void {
    this.pending.push(JSON.stringify(rec));
    for (const listener of this.listeners) listener(rec);
  }

  /**
   * Follow the records written from now on (the coordinator's /metrics derives its run-level
   * series from them). Listeners run synchronously inside `record` and must not throw. Returns
   * the function that unsubscribes.
   */
  onRecord(listener: RecordListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  flush(): Promise<void> {
    return this.serially(async () => {
      if (this.pending.length === 0) return;
      const text = `${this.pending.join('\n')}\n`;
      this.pending = [];
      await appendFile(this.metricsPath, text);
    });
  }

  /** Keep only records with `step ≤ lastStep` (a resumed run rewrites what came after). */
  truncateAfter(lastStep: number): Promise<void> {
    return this.serially(() => this.rewriteThrough(lastStep));
  }

  private serially(op: () => Promise<void>): Promise<void> {
    const next = this.chain.then(op);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async rewriteThrough(lastStep: number): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.metricsPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const kept = text.split('\n').filter((line) => {
      if (line.trim() === '') return false;
      try {
        const rec = JSON.parse(line) as MetricsRecord;
        return rec.type !== 'summary' && rec.step <= lastStep;
      } catch {
        return false; // a line torn by a crash mid-append
      }
    });
    const tmp = `${this.metricsPath}.tmp`;
    await writeFile(tmp, kept.length > 0 ? `${kept.join('\n')}\n` : '');
    await rename(tmp, this.metricsPath);
  }
}

/** Read every record of a metrics file (skipping a torn last line). */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  const text = await readFile(path, 'utf8');
  const out: MetricsRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as MetricsRecord);
    } catch {
      // torn line from a crash: ignore
    }
  }
  return out;
}
