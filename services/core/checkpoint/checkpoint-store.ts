/**
 * A directory of checkpoints `ckpt-<step>.ckpt`, newest kept, oldest pruned. Loading walks from
 * the newest file backwards and skips any that is truncated, corrupt or rejected by the caller's
 * validation (e.g. written by another model), so one bad file never costs the run its progress.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { silentLogger } from '../logging.js';
import { readCheckpointFile, writeCheckpointFile, type Checkpoint } from './checkpoint-file.js';

/** How many checkpoints a store keeps by default. */
export const DEFAULT_CHECKPOINTS_KEPT = 3;
const NAME = /^ckpt-(\d{10})\.ckpt$/;

export class CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep: number = DEFAULT_CHECKPOINTS_KEPT,
    private readonly logger: Logger = silentLogger,
  ) {
    if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`checkpoints kept must be an integer ≥ 1, got ${keep}`);
  }

  /** File name for a step. */
  static fileName(step: number): string {
    return `ckpt-${String(step).padStart(10, '0')}.ckpt`;
  }

  /** Steps that have a checkpoint file, oldest first. */
  async steps(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .map((n) => NAME.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  /** Save atomically, then prune all but the newest `keep`. Returns the path and byte size. */
  async save(step: number, ckpt: Checkpoint<unknown>): Promise<{ path: string; bytes: number }> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, CheckpointStore.fileName(step));
    const bytes = await writeCheckpointFile(path, ckpt);
    const steps = await this.steps();
    for (const old of steps.slice(0, Math.max(0, steps.length - this.keep))) {
      await rm(join(this.dir, CheckpointStore.fileName(old)), { force: true });
    }
    return { path, bytes };
  }

  /** The encoded bytes of the checkpoint of `step` (as written; decode to verify). */
  async read(step: number): Promise<Buffer> {
    return readFile(join(this.dir, CheckpointStore.fileName(step)));
  }

  /**
   * The newest checkpoint that reads back intact and passes `validate` (which throws to refuse),
   * or null when there is none.
   */
  async loadLatest<M>(validate: (ckpt: Checkpoint<M>) => void = () => {}): Promise<{ step: number; path: string; checkpoint: Checkpoint<M> } | null> {
    const steps = await this.steps();
    for (const step of steps.reverse()) {
      const path = join(this.dir, CheckpointStore.fileName(step));
      try {
        const checkpoint = await readCheckpointFile<M>(path);
        validate(checkpoint);
        return { step, path, checkpoint };
      } catch (err) {
        this.logger.warn({ path, err: (err as Error).message }, 'skipping unusable checkpoint; trying an older one');
      }
    }
    return null;
  }
}
