/**
 * Per-rank sample order with the semantics of PyTorch's `torch.utils.data.DistributedSampler`:
 *
 * 1. order = shuffle ? permutation(size) seeded by (seed + epoch) : 0..size-1
 * 2. without dropLast: pad by wrapping (repeating the order from its start, as many times
 *    as needed) to `totalSize = ceil(size / worldSize) · worldSize`;
 *    with dropLast: truncate to `totalSize = floor(size / worldSize) · worldSize`
 * 3. this rank takes `order[rank :: worldSize]`, so every shard has `totalSize / worldSize`
 *    indices and the shards are disjoint whenever `size` is divisible by `worldSize`.
 *
 * The one deliberate difference: the permutation comes from our seeded `Rng` (xoshiro128**
 * Fisher–Yates), not `torch.randperm` with `manual_seed(seed + epoch)`, so the *orders*
 * differ from PyTorch's for the same seed while every shard-arithmetic property matches.
 * Every rank computes the same permutation independently; no communication is needed.
 */
import { ConfigError } from '../errors.js';
import { Rng } from '../random.js';

/** Options of {@link DistributedSampler}; defaults as in PyTorch. */
export interface DistributedSamplerOptions {
  /** Dataset length (number of samples). */
  size: number;
  /** This replica's rank in [0, worldSize). */
  rank: number;
  /** Number of replicas (≥ 1). */
  worldSize: number;
  /** Shuffle each epoch (default true). */
  shuffle?: boolean;
  /** Base seed, identical on every rank (default 0). */
  seed?: number;
  /** Drop the tail so the data divides evenly instead of padding by wrapping (default false). */
  dropLast?: boolean;
}

function requireInt(key: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(key, value, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`);
  }
}

/** Sample order for one rank; see the file comment for the exact semantics. */
export class DistributedSampler {
  readonly size: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Indices per rank per epoch (PyTorch's `num_samples`). */
  readonly numSamples: number;
  /** Indices over all ranks per epoch after padding or truncation (`total_size`). */
  readonly totalSize: number;
  private currentEpoch = 0;

  /** @throws ConfigError naming `size`, `worldSize`, `rank` or `seed` when out of range */
  constructor(options: DistributedSamplerOptions) {
    requireInt('size', options.size, 0);
    requireInt('worldSize', options.worldSize, 1);
    requireInt('rank', options.rank, 0, options.worldSize - 1);
    const seed = options.seed ?? 0;
    requireInt('seed', seed, Number.MIN_SAFE_INTEGER);
    this.size = options.size;
    this.rank = options.rank;
    this.worldSize = options.worldSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = seed;
    this.dropLast = options.dropLast ?? false;
    this.numSamples =
      this.dropLast && this.size % this.worldSize !== 0 ? Math.floor(this.size / this.worldSize) : Math.ceil(this.size / this.worldSize);
    this.totalSize = this.numSamples * this.worldSize;
  }

  /** The epoch whose order {@link indices} returns. */
  get epoch(): number {
    return this.currentEpoch;
  }

  /**
   * Select the epoch; as in PyTorch, call it at the start of every epoch, otherwise every
   * epoch sees the same order.
   * @throws ConfigError when `epoch` is not a non-negative integer
   */
  setEpoch(epoch: number): void {
    requireInt('epoch', epoch, 0);
    this.currentEpoch = epoch;
  }

  /** The global order of the current epoch before padding (identical on every rank). */
  order(): Int32Array {
    if (!this.shuffle) {
      const order = new Int32Array(this.size);
      for (let i = 0; i < this.size; i++) order[i] = i;
      return order;
    }
    return new Rng(this.seed + this.currentEpoch).permutation(this.size);
  }

  /** This rank's indices for the current epoch: `numSamples` entries. */
  indices(): Int32Array {
    const order = this.order();
    const out = new Int32Array(this.numSamples);
    // Position j of the padded/truncated global order is order[j mod size]: wrapping padding
    // repeats from the start; truncation never reaches past size. size = 0 ⇒ numSamples = 0.
    for (let k = 0, j = this.rank; k < this.numSamples; k++, j += this.worldSize) out[k] = order[j % this.size]!;
    return out;
  }
}
