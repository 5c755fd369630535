/**
 * Life cycle shared by the ring collectives: one promise, a progress deadline on receiving, the
 * checks every chunk must pass whatever the collective, and completion once every expected chunk
 * arrived and the right neighbour pulled everything this rank sent.
 *
 * The receive deadline is a *progress* deadline, like Gloo's per-`recv` timeout: it restarts on
 * every chunk, so a large buffer on a slow link is fine while a silent neighbour fails the
 * operation within `timeoutMs`, naming the rank, phase and ring step it was waiting for.
 */
import type { BufferPool } from './buffer-pool.js';
import { allocateChunk, bytesPerElement, checksumOf, chunkHead, dtypeName, KindCode, sealChunk, WireDtypeCode, type ChunkHeader, type DecodedChunk, type OutgoingChunk, type OutgoingHeader, type WireDtype } from './chunk-codec.js';
import { ChunkRejectedError, CollectiveTimeoutError, StaleGenerationError, type CollectivePhaseName, type OperationRef } from './collective-errors.js';
import type { OperationChannel, OperationHandler, RingPosition } from './operation-channel.js';

/** Everything a ring operation is constructed with (besides its own data). */
export interface RingOperationInit {
  readonly operation: OperationRef;
  readonly position: RingPosition;
  readonly dtype: WireDtype;
  readonly checksum: boolean;
  /** Element count of the whole operation (checked against every chunk). */
  readonly totalLength: number;
  readonly timeoutMs: number;
  /** Lanes per operation (chunk c travels on lane c mod lanes). */
  readonly lanes: number;
  /** Where outgoing message buffers come from and go back to. */
  readonly pool: BufferPool;
}

/** The chunk a stalled operation is waiting for. */
export interface PendingChunk {
  readonly phase: CollectivePhaseName;
  readonly ringStep: number | undefined;
}

export abstract class RingOperation implements OperationHandler {
  /** Set by {@link run} or {@link abort} before any traffic. */
  protected channel!: OperationChannel;
  readonly operation: OperationRef;
  protected readonly position: RingPosition;
  protected readonly dtype: WireDtype;
  protected readonly checksum: boolean;
  protected readonly totalLength: number;
  private readonly timeoutMs: number;
  protected readonly lanes: number;
  private readonly pool: BufferPool;
  private received = 0;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  private finishing = false;
  private resolvePromise!: () => void;
  private rejectPromise!: (error: Error) => void;
  private readonly promise: Promise<void>;

  constructor(
    init: RingOperationInit,
    /** Chunks this rank must receive before the operation is complete. */
    private readonly expectedChunks: number,
  ) {
    this.operation = init.operation;
    this.position = init.position;
    this.dtype = init.dtype;
    this.checksum = init.checksum;
    this.totalLength = init.totalLength;
    this.timeoutMs = init.timeoutMs;
    this.lanes = init.lanes;
    this.pool = init.pool;
    this.promise = new Promise<void>((resolve, reject) => {
      this.resolvePromise = resolve;
      this.rejectPromise = reject;
    });
  }

  /** Send what needs no input, then start receiving. Resolves when complete, rejects on failure. */
  run(channel: OperationChannel): Promise<void> {
    this.channel = channel;
    if (this.expectedChunks > 0) this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs);
    try {
      this.sendInitial();
      channel.begin(this.lanesToPull(), this.lanesToServe());
    } catch (error) {
      this.onFailure(error as Error);
    }
    this.maybeFinish();
    return this.promise;
  }

  /** Fail an operation that was never run (a later bucket of a failed call), telling the peers. */
  abort(channel: OperationChannel, error: Error): Promise<void> {
    this.channel = channel;
    this.onFailure(error);
    this.promise.catch(() => undefined);
    return this.promise;
  }

  /** Lanes this rank pulls from its left neighbour (both neighbours compute the same number). */
  protected abstract lanesToPull(): number;
  /** Lanes the right neighbour will pull from this rank. */
  protected abstract lanesToServe(): number;
  /** First sends (chunks that depend on no received data). */
  protected abstract sendInitial(): void;
  /** Validate the phase/position of a chunk that passed the common checks, apply it, forward. */
  protected abstract process(chunk: DecodedChunk): void;
  /** The earliest chunk not yet received (for the timeout message). */
  protected abstract pendingChunk(): PendingChunk;

  onChunk(chunk: DecodedChunk): void {
    if (this.settled) return;
    if (chunk.malformed !== undefined) {
      throw new ChunkRejectedError('encoding', 'a TensorChunk message', `bytes that do not decode (${chunk.malformed})`, this.position.leftRank, this.operation);
    }
    this.checkCommon(chunk.header, chunk.data);
    this.process(chunk);
    this.received++;
    if (this.received < this.expectedChunks) {
      this.timer?.refresh();
    } else {
      clearTimeout(this.timer);
      this.maybeFinish();
    }
  }

  onFailure(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    // The promise rejects only once no write reads the caller's buffer any more.
    const channel = this.channel as OperationChannel | undefined;
    if (channel === undefined) this.rejectPromise(error);
    else channel.close(error, () => this.rejectPromise(error));
  }

  /** A message for a chunk of `length` elements, its buffer from the pool. */
  protected allocate(phase: number, ringStep: number, chunkIndex: number, offset: number, length: number): OutgoingChunk {
    return allocateChunk(this.headerFor(phase, ringStep, chunkIndex, offset, length), length * bytesPerElement(this.dtype), this.checksum, this.pool);
  }

  /** Seal a filled message and send its frame; the buffer returns to the pool once the socket write completed. */
  protected send(out: OutgoingChunk, chunkIndex: number): void {
    sealChunk(out);
    const pool = this.pool;
    this.channel.send(out.frame, undefined, chunkIndex, () => pool.release(out.arrayBuffer));
  }

  /**
   * Send `length` float32 elements of `source` from element `start` where they lie (zero-copy:
   * only a small head is built). Safe because nothing writes that region before the socket has
   * taken the bytes: the caller gets the buffer back only once the operation settled, which waits
   * for every write (also after a failure, see OperationChannel.close); within the operation, the
   * only later write to a region sent is the reduced segment coming back round the ring, which
   * cannot arrive before the neighbours received — and this rank's socket took — what was sent.
   */
  protected sendFrom(source: Float32Array, start: number, phase: number, ringStep: number, chunkIndex: number, offset: number, length: number): void {
    const body = Buffer.from(source.buffer, source.byteOffset + start * 4, length * 4);
    const head = chunkHead(this.headerFor(phase, ringStep, chunkIndex, offset, length), body, this.checksum);
    this.channel.send(head, body, chunkIndex, () => undefined);
  }

  /** Header fields of a chunk this rank sends; the caller fills in the positional ones. */
  protected headerFor(phase: number, ringStep: number, chunkIndex: number, offset: number, length: number): OutgoingHeader {
    return {
      generation: this.operation.generation,
      sequence: this.operation.sequence,
      step: this.operation.step,
      kind: KindCode[this.operation.kind],
      phase,
      ringStep,
      chunkIndex,
      senderRank: this.position.rank,
      dtype: WireDtypeCode[this.dtype],
      offset,
      length,
      totalLength: this.totalLength,
    };
  }

  /** Reject a chunk with the receiver's expectation and the chunk's value. */
  protected reject(header: ChunkHeader, field: ConstructorParameters<typeof ChunkRejectedError>[0], expected: unknown, actual: unknown): never {
    throw new ChunkRejectedError(field, expected, actual, header.senderRank, this.operation);
  }

  private checkCommon(header: ChunkHeader, data: Uint8Array): void {
    const op = this.operation;
    if (header.generation !== op.generation) throw new StaleGenerationError(op.generation, header.generation, header.senderRank, op);
    if (header.sequence !== op.sequence) this.reject(header, 'sequence', op.sequence, header.sequence);
    if (header.step !== op.step) this.reject(header, 'step', op.step, header.step);
    if (header.kind !== KindCode[op.kind]) this.reject(header, 'kind', KindCode[op.kind], header.kind);
    if (header.senderRank !== this.position.leftRank) this.reject(header, 'senderRank', this.position.leftRank, header.senderRank);
    if (header.dtype !== WireDtypeCode[this.dtype]) this.reject(header, 'dtype', this.dtype, dtypeName(header.dtype));
    if (header.totalLength !== this.totalLength) this.reject(header, 'totalLength', this.totalLength, header.totalLength);
    const bytes = header.length * bytesPerElement(this.dtype);
    if (data.byteLength !== bytes) this.reject(header, 'size', bytes, data.byteLength);
    if (this.checksum) {
      if (header.checksum === undefined) this.reject(header, 'checksum', 'a CRC-32', undefined);
      const actual = checksumOf(data);
      if (actual !== header.checksum) this.reject(header, 'checksum', header.checksum, actual);
    }
  }

  private maybeFinish(): void {
    if (this.settled || this.finishing || this.received < this.expectedChunks) return;
    this.finishing = true;
    this.channel.finish(() => {
      if (this.settled) return;
      this.settled = true;
      this.channel.close();
      this.resolvePromise();
    });
  }

  private onTimeout(): void {
    const pending = this.pendingChunk();
    const { leftRank, leftAddress } = this.position;
    this.onFailure(new CollectiveTimeoutError(this.operation, leftRank, leftAddress, pending.phase, pending.ringStep, this.timeoutMs, 'chunk'));
  }
}
