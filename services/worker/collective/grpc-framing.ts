/**
 * gRPC message framing (PROTOCOL-HTTP2.md: "Length-Prefixed-Message → Compressed-Flag
 * Message-Length Message", a 1-byte flag and a 4-byte big-endian length) and its reassembly from
 * the pieces HTTP/2 DATA frames deliver.
 *
 * Reassembly copies each message once, into a buffer from the node's pool laid out like the
 * sender's ([5-byte prefix][message]), so the tensor payload that the chunk codec aligned for the
 * sender is 4-byte aligned here too and is read in place as a Float32Array. A message that
 * arrives whole inside one DATA piece with its payload already aligned is handed over as a view,
 * with no copy at all. Nothing is allocated per message on this path once the pool is warm.
 */
import type { BufferPool } from './buffer-pool.js';

/** "Compressed-Flag → 0 / 1" (1 byte) + "Message-Length" (4 bytes, big endian). */
export const GRPC_PREFIX_BYTES = 5;

/** Write the prefix of an uncompressed message of `messageBytes` into `frame[0..5)`. */
export function writeGrpcPrefix(frame: Uint8Array, messageBytes: number): void {
  frame[0] = 0;
  frame[1] = (messageBytes >>> 24) & 0xff;
  frame[2] = (messageBytes >>> 16) & 0xff;
  frame[3] = (messageBytes >>> 8) & 0xff;
  frame[4] = messageBytes & 0xff;
}

/** One length-prefixed message with `message` as its body (small messages: requests). */
export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + message.length);
  writeGrpcPrefix(frame, message.length);
  frame.set(message, GRPC_PREFIX_BYTES);
  return frame;
}

/** Why a byte stream is not a sequence of acceptable gRPC messages. */
export type FramingProblem =
  | { readonly kind: 'too-large'; readonly bytes: number; readonly limit: number }
  | { readonly kind: 'compressed' };

/** A received message, valid only during the callback (its memory is then reused). */
export type MessageSink = (message: Buffer) => void;

export interface MessageReaderOptions {
  /** Largest message accepted; a larger prefix is a problem before any of its bytes are buffered. */
  readonly maxMessageBytes: number;
  /** Where reassembly buffers come from (omitted: fresh buffers, for rare small messages). */
  readonly pool?: BufferPool;
  readonly onMessage: MessageSink;
  readonly onProblem: (problem: FramingProblem) => void;
}

/** Incremental parser of a stream of length-prefixed messages. */
export class MessageReader {
  private readonly prefix = Buffer.alloc(GRPC_PREFIX_BYTES);
  private prefixFilled = 0;
  /** The message being reassembled: its buffer (prefix + body), bytes expected and received. */
  private assembly: ArrayBuffer | undefined;
  private expected = 0;
  private filled = 0;
  private failed = false;

  constructor(private readonly options: MessageReaderOptions) {}

  /** Whether the stream stopped in the middle of a message (a truncated response). */
  get partial(): boolean {
    return this.prefixFilled > 0 || this.assembly !== undefined;
  }

  /** Feed the next piece of the stream. Messages are delivered synchronously, in order. */
  push(data: Buffer): void {
    let at = 0;
    while (at < data.length && !this.failed) {
      if (this.assembly !== undefined) {
        const take = Math.min(this.expected - this.filled, data.length - at);
        new Uint8Array(this.assembly, GRPC_PREFIX_BYTES + this.filled, take).set(data.subarray(at, at + take));
        this.filled += take;
        at += take;
        if (this.filled === this.expected) this.deliverAssembly();
        continue;
      }
      if (this.prefixFilled === 0 && data.length - at >= GRPC_PREFIX_BYTES) {
        // Fast path: the prefix is here whole.
        const length = data.readUInt32BE(at + 1);
        if (!this.accept(data[at]!, length)) return;
        const body = at + GRPC_PREFIX_BYTES;
        // The payload the codec aligned relative to the frame start is aligned here if the frame
        // start is: then the message can be read where it lies.
        if (data.length - body >= length && (data.byteOffset + at) % 4 === 0) {
          this.options.onMessage(data.subarray(body, body + length));
          at = body + length;
          continue;
        }
        this.begin(length);
        at = body;
        if (length === 0) this.deliverAssembly();
        continue;
      }
      const take = Math.min(GRPC_PREFIX_BYTES - this.prefixFilled, data.length - at);
      data.copy(this.prefix, this.prefixFilled, at, at + take);
      this.prefixFilled += take;
      at += take;
      if (this.prefixFilled === GRPC_PREFIX_BYTES) {
        this.prefixFilled = 0;
        const length = this.prefix.readUInt32BE(1);
        if (!this.accept(this.prefix[0]!, length)) return;
        this.begin(length);
        if (length === 0) this.deliverAssembly();
      }
    }
  }

  /** Drop a message in progress (the call ended); its buffer goes back to the pool. */
  discard(): void {
    if (this.assembly !== undefined) this.options.pool?.release(this.assembly);
    this.assembly = undefined;
    this.prefixFilled = 0;
  }

  private accept(flag: number, length: number): boolean {
    if (flag !== 0) {
      // The collective never negotiates compression (it sends no grpc-accept-encoding but
      // identity), so a compressed message is a protocol violation.
      this.fail({ kind: 'compressed' });
      return false;
    }
    if (length > this.options.maxMessageBytes) {
      this.fail({ kind: 'too-large', bytes: length, limit: this.options.maxMessageBytes });
      return false;
    }
    return true;
  }

  private begin(length: number): void {
    const bytes = GRPC_PREFIX_BYTES + length;
    this.assembly = this.options.pool === undefined ? new ArrayBuffer(bytes) : this.options.pool.acquire(bytes);
    this.expected = length;
    this.filled = 0;
  }

  private deliverAssembly(): void {
    const assembly = this.assembly!;
    this.assembly = undefined;
    try {
      this.options.onMessage(Buffer.from(assembly, GRPC_PREFIX_BYTES, this.expected));
    } finally {
      this.options.pool?.release(assembly);
    }
  }

  private fail(problem: FramingProblem): void {
    this.failed = true;
    this.discard();
    this.options.onProblem(problem);
  }
}
