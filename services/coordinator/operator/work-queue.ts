/**
 * A keyed work queue with the semantics of client-go's workqueue: a key is queued at most once, is
 * never processed by two workers at a time (an `add` while it is processing marks it dirty and it
 * runs again afterwards), failures back off per key exponentially, and delayed adds keep only the
 * earliest deadline. One experiment's errors therefore slow only that experiment's retries.
 */

export interface WorkQueueOptions {
  /** First retry delay after a failure. */
  readonly baseDelayMs?: number;
  /** Longest retry delay. */
  readonly maxDelayMs?: number;
}

export const DEFAULT_BASE_DELAY_MS = 200;
export const DEFAULT_MAX_DELAY_MS = 5 * 60_000;

export type KeyHandler = (key: string) => Promise<{ requeueAfterMs: number | null }>;
export type KeyOutcome = { key: string; ok: boolean; seconds: number; error?: unknown };

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly waiters: (() => void)[] = [];
  private readonly running: Promise<void>[] = [];
  private stopping = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: WorkQueueOptions = {}) {
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
  }

  /** Keys waiting (not counting those being processed). */
  get depth(): number {
    return this.queue.length;
  }

  /** Queue `key` now. */
  add(key: string): void {
    if (this.stopping) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.waiters.shift()?.();
  }

  /** Queue `key` after `delayMs` (an earlier pending deadline wins). */
  addAfter(key: string, delayMs: number): void {
    if (this.stopping) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const pending = this.timers.get(key);
    if (pending !== undefined && pending.at <= at) return;
    if (pending !== undefined) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Retry `key` after its next backoff delay: base · 2^(failures−1), capped, with ±10% jitter. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n - 1, 30)) * (0.9 + 0.2 * Math.random());
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset `key`'s backoff (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Failures in a row of `key`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * Run `concurrency` workers over the queue with `handler`: a success forgets the key's backoff and
   * honours its requeue delay; a failure retries it with backoff. `onDone` sees every outcome.
   */
  start(concurrency: number, handler: KeyHandler, onDone: (o: KeyOutcome) => void = () => {}): void {
    for (let i = 0; i < concurrency; i++) this.running.push(this.worker(handler, onDone));
  }

  private async worker(handler: KeyHandler, onDone: (o: KeyOutcome) => void): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === null) return;
      const started = performance.now();
      try {
        const { requeueAfterMs } = await handler(key);
        this.forget(key);
        onDone({ key, ok: true, seconds: (performance.now() - started) / 1000 });
        if (requeueAfterMs !== null) this.addAfter(key, requeueAfterMs);
      } catch (error) {
        onDone({ key, ok: false, seconds: (performance.now() - started) / 1000, error });
        if (!this.stopping) this.addRateLimited(key);
      } finally {
        this.processing.delete(key);
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }

  private async next(): Promise<string | null> {
    while (this.queue.length === 0) {
      if (this.stopping) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.stopping) return null;
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Stop taking keys, drop pending timers, and wait for the keys being processed to finish. */
  async shutDown(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const w of this.waiters.splice(0)) w();
    await Promise.all(this.running);
  }
}
