/**
 * Ring all-reduce (sum, in place) over the ring transport: reduce-scatter then all-gather of the
 * flat fused buffer, segment per rank, chunked and pipelined (see ring-layout.ts for the
 * schedule). The caller divides by the world size, as with `torch.distributed.all_reduce`.
 *
 * Hot-path choices:
 * - float32 payloads that already lie in the buffer — this rank's own segment at the start, the
 *   reduced chunk it owns, an all-gathered chunk it forwards — are sent from there (zero-copy:
 *   only a small head is built; ring-operation.ts `sendFrom`). A reduce-scatter forward computes
 *   `local + received` directly into a pooled outgoing message (the intermediate partial sum is
 *   never needed locally again: all-gather overwrites that segment later).
 * - Received float32 data is read in place from the reassembled message (chunk-codec.ts aligns it).
 * - float16 wire: decode-and-add into float32 via a table; the owner of each reduced segment
 *   rounds it to float16 precision before the all-gather, so all ranks end bit-identical.
 * - Buffers larger than `bucketMb` are reduced bucket by bucket with `bucketsInFlight` buckets
 *   overlapping (Horovod fusion buffer / DDP buckets): the next bucket's first sends go out
 *   while the previous bucket's last chunks are still in flight. The same window applies across
 *   calls issued back to back (operation-queue.ts).
 *
 * On failure the buffer's contents are unspecified (as with NCCL): the caller must not use them.
 */
import type { BufferPool } from './buffer-pool.js';
import { bytesPerElement, PhaseCode, type DecodedChunk } from './chunk-codec.js';
import type { CollectiveKindName } from './collective-errors.js';
import { DEFAULT_COLLECTIVE_OPTIONS, resolveCollectiveOptions, type CollectiveCallOptions, type CollectiveOptions } from './collective-options.js';
import { addFloat32Into, sumFloat32 } from './float32-kernels.js';
import { addFloat16Into, bitsView, decodeFloat16, encodeFloat16 } from './fp16.js';
import type { OperationChannel, OperationHandler, RingPosition } from './operation-channel.js';
import type { OperationQueue, QueuedOperation } from './operation-queue.js';
import { RingLayout } from './ring-layout.js';
import { RingOperation, type PendingChunk, type RingOperationInit } from './ring-operation.js';

/** What a collective needs from the node that runs it (implemented by CollectiveNode). */
export interface RingTransport {
  /** Base options that per-call options override. */
  readonly defaults: CollectiveOptions;
  /** The ring as of now (throws when the node has no membership). */
  position(): RingPosition;
  /**
   * Reserve `count` consecutive operation sequence numbers of the current generation. Reserving
   * all buckets of a call at once keeps the numbering identical on every rank even when
   * buckets of concurrent calls finish in different orders.
   */
  reserveSequences(count: number): number;
  /** Outgoing and reassembly message buffers. */
  readonly pool: BufferPool;
  /** Where operations wait for their turn (issue order, a window in flight). */
  readonly queue: OperationQueue;
  /** Open the transport of one operation (fails fast if the generation moved on). */
  openChannel(init: RingOperationInit, handler: OperationHandler): OperationChannel;
}

/** Options of {@link allReduce}: the ring plus per-call options. */
export interface RingAllReduceOptions extends CollectiveCallOptions {
  readonly ring: RingTransport;
  /** Operation kind reported on the wire and in errors (barrier reuses the all-reduce). */
  readonly kind?: CollectiveKindName;
}

const RS = PhaseCode['reduce-scatter'];
const AG = PhaseCode['all-gather'];

class AllReduceOperation extends RingOperation {
  private readonly layout: RingLayout;
  private readonly bits: Uint32Array;
  private readonly seen: Uint8Array;

  constructor(
    init: RingOperationInit,
    private readonly buffer: Float32Array,
    /** Offset of `buffer` within the caller's whole buffer (chunk offsets are global). */
    private readonly globalOffset: number,
    chunkElements: number,
  ) {
    const layout = new RingLayout(buffer.length, init.position.worldSize, chunkElements);
    super(init, layout.chunksReceivedBy(init.position.rank));
    this.layout = layout;
    this.bits = bitsView(buffer);
    this.seen = new Uint8Array(2 * Math.max(0, init.position.worldSize - 1) * layout.maxChunks);
  }

  // Both neighbours derive the lane count from the same layout, so they agree without asking.
  protected lanesToPull(): number {
    return Math.min(this.lanes, this.layout.maxChunks);
  }

  protected lanesToServe(): number {
    return Math.min(this.lanes, this.layout.maxChunks);
  }

  protected sendInitial(): void {
    const segment = this.position.rank;
    for (let c = 0; c < this.layout.segment(segment).chunks; c++) {
      const { start, length } = this.layout.chunk(segment, c);
      if (this.dtype === 'float32') {
        this.sendFrom(this.buffer, start, RS, 0, c, this.globalOffset + start, length);
        continue;
      }
      const out = this.allocate(RS, 0, c, this.globalOffset + start, length);
      encodeFloat16(this.buffer, this.bits, start, new Uint16Array(out.payload.buffer, out.payload.byteOffset, length), 0, length);
      this.send(out, c);
    }
  }

  protected process(chunk: DecodedChunk): void {
    const h = chunk.header;
    const { rank, worldSize } = this.position;
    const lastStep = worldSize - 2;
    if (h.phase !== RS && h.phase !== AG) this.reject(h, 'phase', 'reduce-scatter or all-gather', h.phase);
    if (h.ringStep > lastStep) this.reject(h, 'ringStep', `at most ${lastStep}`, h.ringStep);
    const segment = h.phase === RS ? this.layout.reduceScatterReceiveSegment(rank, h.ringStep) : this.layout.allGatherReceiveSegment(rank, h.ringStep);
    const chunks = this.layout.segment(segment).chunks;
    if (h.chunkIndex >= chunks) this.reject(h, 'chunkIndex', `less than ${chunks}`, h.chunkIndex);
    const { start, length } = this.layout.chunk(segment, h.chunkIndex);
    if (h.offset !== this.globalOffset + start) this.reject(h, 'offset', this.globalOffset + start, h.offset);
    if (h.length !== length) this.reject(h, 'length', length, h.length);
    const slot = ((h.phase === RS ? 0 : 1) * (worldSize - 1) + h.ringStep) * this.layout.maxChunks + h.chunkIndex;
    if (this.seen[slot] === 1) this.reject(h, 'duplicate', 'each chunk once', `chunk ${h.chunkIndex} again`);
    this.seen[slot] = 1;

    const data = chunk.data;
    if (h.phase === RS && h.ringStep < lastStep) {
      // Intermediate partial sum: compute it straight into the outgoing message.
      const out = this.allocate(RS, h.ringStep + 1, h.chunkIndex, this.globalOffset + start, length);
      if (this.dtype === 'float32') {
        sumFloat32(this.buffer, start, new Float32Array(data.buffer, data.byteOffset, length), new Float32Array(out.payload.buffer, out.payload.byteOffset, length), 0);
      } else {
        addFloat16Into(new Uint16Array(data.buffer, data.byteOffset, length), this.buffer, start);
        encodeFloat16(this.buffer, this.bits, start, new Uint16Array(out.payload.buffer, out.payload.byteOffset, length), 0, length);
      }
      this.send(out, h.chunkIndex);
    } else if (h.phase === RS) {
      // Last reduce-scatter step: this rank now owns the fully reduced chunk; all-gather starts.
      if (this.dtype === 'float32') {
        addFloat32Into(new Float32Array(data.buffer, data.byteOffset, length), this.buffer, start);
        this.sendFrom(this.buffer, start, AG, 0, h.chunkIndex, this.globalOffset + start, length);
      } else {
        const out = this.allocate(AG, 0, h.chunkIndex, this.globalOffset + start, length);
        addFloat16Into(new Uint16Array(data.buffer, data.byteOffset, length), this.buffer, start);
        const wire = new Uint16Array(out.payload.buffer, out.payload.byteOffset, length);
        encodeFloat16(this.buffer, this.bits, start, wire, 0, length);
        decodeFloat16(wire, this.buffer, start);
        this.send(out, h.chunkIndex);
      }
    } else if (this.dtype === 'float32') {
      // All-gather: the reduced chunk lands in its final place and is forwarded from there.
      new Uint8Array(this.buffer.buffer, this.buffer.byteOffset + start * 4, length * 4).set(data);
      if (h.ringStep < lastStep) this.sendFrom(this.buffer, start, AG, h.ringStep + 1, h.chunkIndex, this.globalOffset + start, length);
    } else {
      decodeFloat16(new Uint16Array(data.buffer, data.byteOffset, length), this.buffer, start);
      if (h.ringStep < lastStep) {
        // The float16 wire bytes are forwarded as they came (re-encoding would round twice).
        const out = this.allocate(AG, h.ringStep + 1, h.chunkIndex, this.globalOffset + start, length);
        out.payload.set(data);
        this.send(out, h.chunkIndex);
      }
    }
  }

  protected pendingChunk(): PendingChunk {
    const { rank, worldSize } = this.position;
    for (let p = 0; p < 2; p++) {
      for (let s = 0; s < worldSize - 1; s++) {
        const segment = p === 0 ? this.layout.reduceScatterReceiveSegment(rank, s) : this.layout.allGatherReceiveSegment(rank, s);
        for (let c = 0; c < this.layout.segment(segment).chunks; c++) {
          if (this.seen[(p * (worldSize - 1) + s) * this.layout.maxChunks + c] !== 1) {
            return { phase: p === 0 ? 'reduce-scatter' : 'all-gather', ringStep: s };
          }
        }
      }
    }
    return { phase: 'all-gather', ringStep: undefined };
  }

}

/**
 * Sum `buffer` in place across the ring (every rank passes a buffer of the same length and gets
 * the element-wise sum of all of them). Large buffers go bucket by bucket (`bucketMb`).
 *
 * Back-to-back calls: the operation's place in the ring's order is taken synchronously, when
 * the call is made, so a caller may issue several all-reduces without awaiting (one per gradient
 * bucket, say) as long as every rank issues the same calls in the same order. Operations then
 * start in issue order, at most `bucketsInFlight` at once on this node (buckets of one call and
 * of later calls alike), and the calls settle in issue order: when call k resolves, every earlier
 * call has settled. `buffer` belongs to the collective until the call settles, whether it
 * resolves or rejects (payloads are sent from it without a copy).
 *
 * @throws CollectiveTimeoutError naming the peer, step and phase when a wait exceeds `timeoutMs`;
 *   ChunkRejectedError (or StaleGenerationError) for a chunk that does not match this rank's
 *   operation; PeerFailedError / PeerAbortedError when a neighbour failed;
 *   GenerationChangedError when the membership changed meanwhile.
 */
export function allReduce(buffer: Float32Array, opts: RingAllReduceOptions): Promise<void> {
  const { ring } = opts;
  let options: CollectiveOptions;
  let position: RingPosition;
  try {
    options = resolveCollectiveOptions(ring.defaults ?? DEFAULT_COLLECTIVE_OPTIONS, opts);
    position = ring.position();
  } catch (error) {
    return Promise.reject(error as Error);
  }
  if (position.worldSize === 1 || buffer.length === 0) return ring.queue.inOrder(Promise.resolve());
  const bucketElements = Math.max(1, Math.floor((options.bucketMb * 1024 * 1024) / 4));
  const buckets = Math.ceil(buffer.length / bucketElements);
  const firstSequence = ring.reserveSequences(buckets);
  const step = opts.step ?? firstSequence;
  const kind = opts.kind ?? 'all-reduce';
  const chunkElements = Math.max(1, Math.floor((options.chunkKb * 1024) / bytesPerElement(options.dtype)));

  const newOperation = (index: number): [AllReduceOperation, OperationChannel] => {
    const start = index * bucketElements;
    const view = buffer.subarray(start, Math.min(buffer.length, start + bucketElements));
    const init: RingOperationInit = {
      operation: { kind, generation: position.generation, sequence: firstSequence + index, step },
      position,
      dtype: options.dtype,
      checksum: options.checksum,
      totalLength: view.length,
      timeoutMs: options.timeoutMs,
      lanes: options.lanes,
      pool: ring.pool,
    };
    const op = new AllReduceOperation(init, view, start, chunkElements);
    return [op, ring.openChannel(init, op)];
  };
  const live = new Set<AllReduceOperation>();
  const mine = new Set<QueuedOperation>();
  let failure: Error | undefined;
  const fail = (error: Error): void => {
    if (failure !== undefined) return;
    failure = error;
    // Fail the buckets in flight at once rather than letting them wait for their deadline, and
    // the ones not started (they are opened just to be failed, so their peers learn at once).
    for (const op of live) op.onFailure(error);
    ring.queue.drop((queued) => (mine.has(queued) ? error : undefined));
  };
  const settled = Array.from({ length: buckets }, (_, index) => {
    const queued: QueuedOperation = {
      operation: { kind, generation: position.generation, sequence: firstSequence + index, step },
      window: options.bucketsInFlight,
      start: () => {
        const [op, channel] = newOperation(index);
        live.add(op);
        return op.run(channel).finally(() => live.delete(op));
      },
      drop: (error) => {
        try {
          const [op, channel] = newOperation(index);
          void op.abort(channel, error);
        } catch {
          // The generation moved on: the peers' operations were failed by their reconfigure.
        }
      },
    };
    mine.add(queued);
    return ring.queue.submit(queued).catch((error: unknown) => fail(error as Error));
  });
  // The call settles once every bucket has (no write still reads `buffer`), with the first failure.
  return ring.queue.inOrder(
    Promise.all(settled).then(() => {
      if (failure !== undefined) throw failure;
    }),
  );
}
