/**
 * One list+watch cache (client-node's `ListWatch`, what `makeInformer` builds) made robust for a
 * long-running controller:
 * - watches ask for bookmarks and a server-side timeout, so a reconnect resumes from a recent
 *   resourceVersion rather than relisting (client-go's reflector does the same);
 * - ListWatch already relists on 410 Gone (the resourceVersion was compacted away), but on any
 *   other error it stops for good — here it is restarted with capped exponential backoff, resuming
 *   from its last resourceVersion;
 * - `synced` resolves once the first list has filled the cache (client-go's HasSynced).
 */
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export const INFORMER_BACKOFF_BASE_MS = 500;
export const INFORMER_BACKOFF_MAX_MS = 30_000;
/** Errors further apart than this start the backoff over. */
export const INFORMER_BACKOFF_RESET_MS = 60_000;

/** A Watch that requests bookmarks and a jittered server-side timeout on every watch call. */
export class BookmarkingWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly timeoutSeconds: number,
  ) {
    super(config);
  }

  override watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    // Jitter spreads reconnects of many informers (client-go: timeout in [min, 2·min)).
    const timeoutSeconds = Math.round(this.timeoutSeconds * (1 + Math.random()));
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true, timeoutSeconds }, callback, done);
  }
}

export interface ResourceInformerOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  /** API path of the collection, e.g. `/api/v1/namespaces/ns/pods`. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly watchTimeoutSeconds: number;
  readonly logger: Logger;
  /** Every add, update and delete. */
  readonly onChange: (obj: T, verb: 'add' | 'update' | 'delete') => void;
  /** Each restart after an error (for metrics). */
  readonly onRestart?: (delayMs: number, err: unknown) => void;
}

export class ResourceInformer<T extends KubernetesObject> {
  private readonly informer: ListWatch<T>;
  private stopping = false;
  private failures = 0;
  private lastErrorMs = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private markSynced!: () => void;
  /** Resolves once the first list has been stored. */
  readonly synced: Promise<void>;

  constructor(private readonly options: ResourceInformerOptions<T>) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
    const list = async () => {
      const result = await options.list();
      // ListWatch stores the items right after this resolves (same turn); report after that.
      setImmediate(() => this.markSynced());
      return result;
    };
    this.informer = new ListWatch<T>(options.path, new BookmarkingWatch(options.kc, options.watchTimeoutSeconds), list, false, options.labelSelector);
    this.informer.on('add', (o) => options.onChange(o, 'add'));
    this.informer.on('update', (o) => options.onChange(o, 'update'));
    this.informer.on('delete', (o) => options.onChange(o, 'delete'));
    this.informer.on('error', (err) => this.restart(err));
  }

  /** Start listing and watching (returns at once; await `synced` for the cache). */
  start(): void {
    this.stopping = false;
    void this.informer.start().catch((err: unknown) => this.restart(err));
  }

  private restart(err: unknown): void {
    // Stopping aborts the watch request, which ListWatch reports as an error.
    if (this.stopping) return;
    const now = Date.now();
    if (now - this.lastErrorMs > INFORMER_BACKOFF_RESET_MS) this.failures = 0;
    this.lastErrorMs = now;
    this.failures++;
    const delay = Math.min(INFORMER_BACKOFF_MAX_MS, INFORMER_BACKOFF_BASE_MS * 2 ** (this.failures - 1)) * (0.8 + 0.4 * Math.random());
    this.options.logger.warn({ path: this.options.path, err: (err as Error)?.message ?? String(err), retryInMs: Math.round(delay), resourceVersion: this.informer.latestResourceVersion() }, 'list/watch failed; restarting');
    this.options.onRestart?.(delay, err);
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.stopping) void this.informer.start().catch((e: unknown) => this.restart(e));
    }, delay);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  /** The resourceVersion the next watch resumes from ('' = will relist). */
  resourceVersion(): string {
    return this.informer.latestResourceVersion();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== null) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}
