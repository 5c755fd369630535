/**
 * Hand-written protobuf encoding of `encourage.v1.TensorChunk` (proto/encourage/v1/collective.proto).
 *
 * Why not protobufjs: encoding a multi-megabyte `bytes` field through a generic encoder costs an
 * extra copy (and decoding another), and gives no control over where the tensor bytes land. Here
 * the sender allocates the message once and writes (or float16-encodes) the tensor directly into
 * it; the receiver gets a view of the tensor bytes inside the buffer grpc-js assembled, aligned
 * so that it can be read as a Float32Array in place. The bytes are a valid TensorChunk message:
 * chunk-codec.test.ts decodes them with protobufjs and decodes protobufjs' output with this.
 *
 * Alignment: a receiver reassembles each message behind its 5-byte gRPC prefix (our own reader,
 * grpc-framing.ts, does so in a pooled buffer; grpc-js hands its deserializer `frame.subarray(5)`
 * of a fresh one), so the tensor is 4-byte aligned when 5 + (bytes before it) ≡ 0 (mod 4); the
 * optional `padding` field (14) is sized to make that true. A misaligned payload from some other
 * sender is copied once instead.
 *
 * The sender builds the whole length-prefixed frame in one pooled buffer ([prefix][message]), so
 * the lean server writes it to the HTTP/2 stream as it is: Node hands the bytes of a DATA frame
 * to the socket without copying them, and nothing is framed or copied in JavaScript.
 */
import { crc32 } from 'node:zlib';
import type { BufferPool } from './buffer-pool.js';
import { GRPC_PREFIX_BYTES, writeGrpcPrefix } from './grpc-framing.js';

/** `WireDtype` values of the proto. */
export const WireDtypeCode = { float32: 1, float16: 2 } as const;
export type WireDtype = keyof typeof WireDtypeCode;
/** `CollectiveKind` values of the proto. */
export const KindCode = { 'all-reduce': 1, broadcast: 2, barrier: 3 } as const;
/** `CollectivePhase` values of the proto. */
export const PhaseCode = { 'reduce-scatter': 1, 'all-gather': 2, broadcast: 3 } as const;

/** Name of a `WireDtype` code, or the number itself when unknown. */
export function dtypeName(code: number): WireDtype | string {
  for (const [name, value] of Object.entries(WireDtypeCode)) if (value === code) return name as WireDtype;
  return `dtype ${code}`;
}

/** Bytes per element on the wire. */
export function bytesPerElement(dtype: WireDtype): 2 | 4 {
  return dtype === 'float16' ? 2 : 4;
}

/** Header fields of a TensorChunk (everything but `padding` and `data`). */
export interface ChunkHeader {
  generation: number;
  sequence: number;
  step: number;
  kind: number;
  phase: number;
  ringStep: number;
  chunkIndex: number;
  senderRank: number;
  dtype: number;
  offset: number;
  length: number;
  totalLength: number;
  /** CRC-32 of the data; undefined when the sender did not compute one. */
  checksum: number | undefined;
}

/** The integer header fields, written as varints. */
type VarintField = Exclude<keyof ChunkHeader, 'checksum'>;
/** What a sender provides: every integer field (the checksum is computed from the data). */
export type OutgoingHeader = Pick<ChunkHeader, VarintField>;

/** A chunk being built: fill `payload`, then {@link sealChunk}, then send `frame` (or `message`). */
export interface OutgoingChunk {
  /** The complete serialized TensorChunk. */
  readonly message: Buffer;
  /** `message` behind its 5-byte gRPC prefix (written by {@link sealChunk}): what goes on the wire. */
  readonly frame: Buffer;
  /** The tensor bytes inside `message`, 4-byte aligned in its ArrayBuffer. */
  readonly payload: Uint8Array;
  /** Offset of the fixed32 checksum in `message`, or -1 without checksum. */
  readonly checksumAt: number;
  /** The ArrayBuffer holding `frame` (to give back to the pool once its write completed). */
  readonly arrayBuffer: ArrayBuffer;
}

/** A received chunk: header plus a view of the tensor bytes (4-byte aligned). */
export interface DecodedChunk {
  readonly header: ChunkHeader;
  readonly data: Uint8Array;
  /** Whether `data` had to be copied to be aligned (diagnostics). */
  readonly copied: boolean;
  /** Set when the bytes are not a well-formed TensorChunk; other fields are then partial. */
  readonly malformed?: string;
}

/** Protobuf tags: (field << 3) | wire type (0 varint, 2 length-delimited, 5 fixed32). */
const TAG_CHECKSUM = (12 << 3) | 5;
const TAG_PADDING = (14 << 3) | 2;
const TAG_DATA = (15 << 3) | 2;
/** Varint fields in field-number order; `checksum` (12) is written separately. */
const VARINT_FIELDS: ReadonlyArray<readonly [number, VarintField]> = [
  [1, 'generation'],
  [2, 'sequence'],
  [3, 'step'],
  [4, 'kind'],
  [5, 'phase'],
  [6, 'ringStep'],
  [7, 'chunkIndex'],
  [8, 'senderRank'],
  [9, 'dtype'],
  [10, 'offset'],
  [11, 'length'],
  [13, 'totalLength'],
];

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, at: number, value: number): number {
  while (value >= 128) {
    buf[at++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  buf[at++] = value;
  return at;
}

/** Byte layout of a chunk's head (everything before the payload), computed once per chunk. */
interface HeadLayout {
  readonly headerBytes: number;
  /** Total size of the padding field (0, or 2..5 bytes). */
  readonly paddingField: number;
  /** Bytes of the message before the payload (header, padding, data tag and length). */
  readonly payloadAt: number;
}

function headLayout(header: OutgoingHeader, payloadBytes: number, withChecksum: boolean): HeadLayout {
  let headerBytes = withChecksum ? 5 : 0;
  for (const [, key] of VARINT_FIELDS) {
    const value = header[key];
    if (value !== 0) headerBytes += 1 + varintSize(value);
  }
  const dataPrefix = 1 + varintSize(payloadBytes);
  // Choose the padding field's total size (0, or 2..5 bytes) so that the payload starts at a
  // multiple of 4 behind the 5-byte gRPC prefix.
  const residue = (GRPC_PREFIX_BYTES + headerBytes + dataPrefix) % 4;
  const paddingField = residue === 0 ? 0 : 4 - residue === 1 ? 5 : 4 - residue;
  return { headerBytes, paddingField, payloadAt: headerBytes + paddingField + dataPrefix };
}

/**
 * Write the gRPC prefix and the message up to the payload into `frame` (which starts with the
 * prefix). Zero-valued header fields are omitted, as proto3 encoders do. Returns the offset of the
 * fixed32 checksum within the message, or -1.
 */
function writeHead(frame: Buffer, header: OutgoingHeader, payloadBytes: number, withChecksum: boolean, layout: HeadLayout): number {
  writeGrpcPrefix(frame, layout.payloadAt + payloadBytes);
  const message = frame.subarray(GRPC_PREFIX_BYTES);
  let at = 0;
  let checksumAt = -1;
  for (const [field, key] of VARINT_FIELDS) {
    const value = header[key];
    if (value === 0) continue;
    if (field === 13 && withChecksum) {
      message[at++] = TAG_CHECKSUM;
      checksumAt = at;
      at += 4;
    }
    message[at++] = field << 3;
    at = writeVarint(message, at, value);
  }
  if (withChecksum && checksumAt < 0) {
    message[at++] = TAG_CHECKSUM;
    checksumAt = at;
    at += 4;
  }
  if (layout.paddingField > 0) {
    message[at++] = TAG_PADDING;
    message[at++] = layout.paddingField - 2;
    message.fill(0, at, at + layout.paddingField - 2);
    at += layout.paddingField - 2;
  }
  message[at++] = TAG_DATA;
  writeVarint(message, at, payloadBytes);
  return checksumAt;
}

/**
 * Allocate a TensorChunk frame with room for `payloadBytes` of tensor data, for payloads that are
 * computed into the message (a partial sum, float16 encoding): fill `payload`, then
 * {@link sealChunk}.
 */
export function allocateChunk(header: OutgoingHeader, payloadBytes: number, withChecksum: boolean, pool?: BufferPool): OutgoingChunk {
  const layout = headLayout(header, payloadBytes, withChecksum);
  // The ArrayBuffer holds the gRPC prefix and then the message, so the payload is aligned in the
  // sender's buffer exactly as in the receiver's and can be written through a Float32Array.
  const frameBytes = GRPC_PREFIX_BYTES + layout.payloadAt + payloadBytes;
  const arrayBuffer = pool === undefined ? new ArrayBuffer(frameBytes) : pool.acquire(frameBytes);
  const frame = Buffer.from(arrayBuffer, 0, frameBytes);
  const checksumAt = writeHead(frame, header, payloadBytes, withChecksum, layout);
  const payloadStart = GRPC_PREFIX_BYTES + layout.payloadAt;
  return { message: frame.subarray(GRPC_PREFIX_BYTES), frame, payload: new Uint8Array(arrayBuffer, payloadStart, payloadBytes), checksumAt, arrayBuffer };
}

/** Fill in the checksum of a chunk whose payload has been written (no-op without checksum). */
export function sealChunk(chunk: OutgoingChunk): void {
  if (chunk.checksumAt >= 0) chunk.message.writeUInt32LE(crc32(chunk.payload) >>> 0, chunk.checksumAt);
}

/**
 * The head of a chunk whose payload is sent from where it already lies (the caller's gradient
 * buffer): the gRPC prefix and every message byte before the payload, in a small buffer of its
 * own (Node's shared slab: no allocation of its own). Written to the stream right before the
 * payload, the two form one frame; the receiver cannot tell it from an {@link allocateChunk} one.
 */
export function chunkHead(header: OutgoingHeader, payload: Uint8Array, withChecksum: boolean): Buffer {
  const layout = headLayout(header, payload.byteLength, withChecksum);
  const head = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + layout.payloadAt);
  const checksumAt = writeHead(head, header, payload.byteLength, withChecksum, layout);
  if (checksumAt >= 0) head.writeUInt32LE(crc32(payload) >>> 0, GRPC_PREFIX_BYTES + checksumAt);
  return head;
}

/** CRC-32 of received tensor bytes, to compare with `header.checksum`. */
export function checksumOf(data: Uint8Array): number {
  return crc32(data) >>> 0;
}

/**
 * Decode a serialized TensorChunk without copying the tensor bytes (unless misaligned). Never
 * throws: a malformed message comes back with `malformed` set, so the receiver can reject it with
 * a named error instead of grpc-js answering INTERNAL.
 */
export function decodeChunk(buf: Uint8Array): DecodedChunk {
  const header: ChunkHeader = {
    generation: 0,
    sequence: 0,
    step: 0,
    kind: 0,
    phase: 0,
    ringStep: 0,
    chunkIndex: 0,
    senderRank: 0,
    dtype: 0,
    offset: 0,
    length: 0,
    totalLength: 0,
    checksum: undefined,
  };
  let data: Uint8Array = new Uint8Array(0);
  let at = 0;
  const end = buf.length;
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (at >= end) throw new RangeError('truncated varint');
      const byte = buf[at++]!;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
    throw new RangeError('varint longer than 10 bytes');
  };
  try {
    while (at < end) {
      const tag = readVarint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (wireType === 0) {
        const value = readVarint();
        const key = VARINT_FIELDS.find(([f]) => f === field)?.[1];
        if (key !== undefined) header[key] = value;
      } else if (wireType === 2) {
        const length = readVarint();
        if (at + length > end) throw new RangeError(`field ${field} of ${length} bytes overruns the message`);
        if (field === 15) data = buf.subarray(at, at + length);
        at += length;
      } else if (wireType === 5) {
        if (at + 4 > end) throw new RangeError('truncated fixed32');
        const value = (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
        if (field === 12) header.checksum = value;
        at += 4;
      } else if (wireType === 1) {
        at += 8;
      } else {
        throw new RangeError(`unsupported wire type ${wireType} for field ${field}`);
      }
    }
    if (at !== end) throw new RangeError('truncated fixed-size field');
  } catch (error) {
    return { header, data: new Uint8Array(0), copied: false, malformed: (error as Error).message };
  }
  if (data.byteOffset % 4 !== 0) return { header, data: new Uint8Array(data), copied: true };
  return { header, data, copied: false };
}
