/**
 * Ring-pipelined broadcast (NCCL's ring broadcast): the root streams the buffer chunk by chunk
 * to its right neighbour; every other rank copies each chunk and forwards it at once, except the
 * root's left neighbour, the end of the chain. With C chunks the time is about (C + N − 2)
 * chunk-times instead of N − 1 whole-buffer times.
 *
 * Broadcast carries float32 always: it distributes initial weights, which must arrive exactly.
 */
import { ConfigError } from '../../core/errors.js';
import { PhaseCode, type DecodedChunk } from './chunk-codec.js';
import { resolveCollectiveOptions, type CollectiveCallOptions, type CollectiveOptions } from './collective-options.js';
import type { RingPosition } from './operation-channel.js';
import type { RingTransport } from './ring-allreduce.js';
import { mod } from './ring-layout.js';
import { RingOperation, type PendingChunk, type RingOperationInit } from './ring-operation.js';

const BROADCAST = PhaseCode.broadcast;

class BroadcastOperation extends RingOperation {
  /** Hops from the root to this rank. */
  private readonly distance: number;
  private readonly chunks: number;
  private readonly seen: Uint8Array;

  constructor(
    init: RingOperationInit,
    private readonly buffer: Float32Array,
    rootRank: number,
    private readonly chunkElements: number,
  ) {
    const distance = mod(init.position.rank - rootRank, init.position.worldSize);
    const chunks = Math.ceil(buffer.length / chunkElements);
    super(init, distance === 0 ? 0 : chunks);
    this.distance = distance;
    this.chunks = chunks;
    this.seen = new Uint8Array(chunks);
  }

  // The root pulls nothing; the root's left neighbour, the end of the chain, serves nothing.
  protected lanesToPull(): number {
    return this.distance === 0 ? 0 : Math.min(this.lanes, this.chunks);
  }

  protected lanesToServe(): number {
    return this.distance === this.position.worldSize - 1 ? 0 : Math.min(this.lanes, this.chunks);
  }

  protected sendInitial(): void {
    if (this.distance !== 0) return;
    for (let c = 0; c < this.chunks; c++) {
      const start = c * this.chunkElements;
      const length = Math.min(this.chunkElements, this.buffer.length - start);
      this.sendFrom(this.buffer, start, BROADCAST, 0, c, start, length);
    }
  }

  protected process(chunk: DecodedChunk): void {
    const h = chunk.header;
    if (h.phase !== BROADCAST) this.reject(h, 'phase', 'broadcast', h.phase);
    if (h.ringStep !== this.distance - 1) this.reject(h, 'ringStep', this.distance - 1, h.ringStep);
    if (h.chunkIndex >= this.chunks) this.reject(h, 'chunkIndex', `less than ${this.chunks}`, h.chunkIndex);
    const start = h.chunkIndex * this.chunkElements;
    const length = Math.min(this.chunkElements, this.buffer.length - start);
    if (h.offset !== start) this.reject(h, 'offset', start, h.offset);
    if (h.length !== length) this.reject(h, 'length', length, h.length);
    if (this.seen[h.chunkIndex] === 1) this.reject(h, 'duplicate', 'each chunk once', `chunk ${h.chunkIndex} again`);
    this.seen[h.chunkIndex] = 1;
    new Uint8Array(this.buffer.buffer, this.buffer.byteOffset + start * 4, length * 4).set(chunk.data);
    if (this.distance < this.position.worldSize - 1) this.sendFrom(this.buffer, start, BROADCAST, this.distance, h.chunkIndex, start, length);
  }

  protected pendingChunk(): PendingChunk {
    return { phase: 'broadcast', ringStep: this.distance - 1 };
  }
}

/** Options of {@link broadcast}. */
export interface RingBroadcastOptions extends CollectiveCallOptions {
  readonly ring: RingTransport;
}

/**
 * Copy `buffer` of rank `rootRank` into `buffer` of every rank (all pass equal lengths). Ordered
 * with the node's other collectives like {@link allReduce}; `buffer` belongs to the collective
 * until the call settles.
 *
 * @throws ConfigError for a root outside the ring; the errors of `allReduce` otherwise.
 */
export function broadcast(buffer: Float32Array, rootRank: number, opts: RingBroadcastOptions): Promise<void> {
  const { ring } = opts;
  let options: CollectiveOptions;
  let position: RingPosition;
  try {
    options = resolveCollectiveOptions(ring.defaults, opts);
    position = ring.position();
    if (!Number.isInteger(rootRank) || rootRank < 0 || rootRank >= position.worldSize) {
      throw new ConfigError('broadcast.rootRank', rootRank, `an integer in [0, ${position.worldSize - 1}]`);
    }
  } catch (error) {
    return Promise.reject(error as Error);
  }
  if (position.worldSize === 1 || buffer.length === 0) return ring.queue.inOrder(Promise.resolve());
  const sequence = ring.reserveSequences(1);
  const init: RingOperationInit = {
    operation: { kind: 'broadcast', generation: position.generation, sequence, step: opts.step ?? sequence },
    position,
    dtype: 'float32',
    checksum: options.checksum,
    totalLength: buffer.length,
    timeoutMs: options.timeoutMs,
    lanes: options.lanes,
    pool: ring.pool,
  };
  const chunkElements = Math.max(1, Math.floor((options.chunkKb * 1024) / 4));
  const done = ring.queue.submit({
    operation: init.operation,
    window: options.bucketsInFlight,
    start: () => {
      const op = new BroadcastOperation(init, buffer, rootRank, chunkElements);
      return op.run(ring.openChannel(init, op));
    },
    drop: (error) => {
      try {
        const op = new BroadcastOperation(init, buffer, rootRank, chunkElements);
        void op.abort(ring.openChannel(init, op), error);
      } catch {
        // The generation moved on: the peers' operations were failed by their reconfigure.
      }
    },
  });
  return ring.queue.inOrder(done);
}
