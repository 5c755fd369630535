/**
 * Cuts a rank's shard (from `DistributedSampler.indices()`) into mini-batches, starting at
 * any sample position so that a resumed run continues mid-epoch exactly where the checkpoint
 * was taken. The position is counted in *samples*, not batches, so it stays meaningful if
 * the batch size is changed on resume.
 */
import { ConfigError } from '../errors.js';

/** One mini-batch of sample indices. */
export interface IndexBatch {
  /** Sample indices (a view into the shard; copy it if the shard is reused). */
  indices: Int32Array;
  /** Position in the shard of the batch's first sample. */
  start: number;
  /** Position after the batch's last sample: what to checkpoint once the batch is applied. */
  end: number;
}

/** Options of {@link BatchIterator}. */
export interface BatchIteratorOptions {
  /** Samples per batch (≥ 1). */
  batchSize: number;
  /** Skip a final batch shorter than `batchSize` (default false). */
  dropLast?: boolean;
  /** Shard position to start from, in samples (default 0). */
  start?: number;
}

/** Iterator over the batches of one shard; iterable once, like a generator. */
export class BatchIterator implements IterableIterator<IndexBatch> {
  private readonly shard: Int32Array;
  readonly batchSize: number;
  readonly dropLast: boolean;
  private pos: number;

  /** @throws ConfigError naming `batchSize` or `start` when out of range */
  constructor(shard: Int32Array, options: BatchIteratorOptions) {
    const { batchSize } = options;
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', batchSize, 'an integer >= 1');
    const start = options.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0 || start > shard.length) throw new ConfigError('start', start, `an integer in [0, ${shard.length}]`);
    this.shard = shard;
    this.batchSize = batchSize;
    this.dropLast = options.dropLast ?? false;
    this.pos = start;
  }

  /** Samples consumed so far (the next batch starts here). */
  get position(): number {
    return this.pos;
  }

  /** Batches still to come from the current position. */
  get remainingBatches(): number {
    const rest = this.shard.length - this.pos;
    return this.dropLast ? Math.floor(rest / this.batchSize) : Math.ceil(rest / this.batchSize);
  }

  next(): IteratorResult<IndexBatch> {
    const rest = this.shard.length - this.pos;
    if (rest <= 0 || (this.dropLast && rest < this.batchSize)) return { done: true, value: undefined };
    const start = this.pos;
    const end = Math.min(start + this.batchSize, this.shard.length);
    this.pos = end;
    return { done: false, value: { indices: this.shard.subarray(start, end), start, end } };
  }

  [Symbol.iterator](): IterableIterator<IndexBatch> {
    return this;
  }
}

/**
 * Number of batches an epoch of `shardLength` samples yields from position 0
 * (what a progress bar or an LR schedule needs up front).
 */
export function batchesPerEpoch(shardLength: number, batchSize: number, dropLast = false): number {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', batchSize, 'an integer >= 1');
  return dropLast ? Math.floor(shardLength / batchSize) : Math.ceil(shardLength / batchSize);
}
