/**
 * Options of the collectives, their defaults (chosen by measurement, see docs/performance.md
 * "## All-reduce") and validation, plus the HTTP/2 settings and message limits of the data plane.
 */
import type http2 from 'node:http2';
import { ConfigError } from '../../core/errors.js';
import type { WireDtype } from './chunk-codec.js';

/** Tuning knobs shared by all collectives; each call may override any of them. */
export interface CollectiveOptions {
  /** Element encoding on the wire; reduction always accumulates in float32. */
  readonly dtype: WireDtype;
  /** Wire payload per chunk message, in KiB (the pipelining grain). */
  readonly chunkKb: number;
  /**
   * Fusion bucket size in MiB (float32 bytes): a larger buffer is all-reduced bucket by bucket,
   * like Horovod's fusion buffer / PyTorch DDP's `bucket_cap_mb`.
   */
  readonly bucketMb: number;
  /** How many buckets may be in flight at once (1 = strictly one after the other). */
  readonly bucketsInFlight: number;
  /** Deadline of every wait (a chunk from the left, an acknowledgement from the right), in ms. */
  readonly timeoutMs: number;
  /** Concurrent streams per operation from the left neighbour (chunk c travels on lane c mod lanes). */
  readonly lanes: number;
  /** CRC-32 every chunk's data and verify it on receipt. */
  readonly checksum: boolean;
}

/** Per-call options: any {@link CollectiveOptions} plus the training step the call belongs to. */
export interface CollectiveCallOptions extends Partial<CollectiveOptions> {
  /** Training step, carried by every chunk and checked by receivers (default: the operation's sequence number). */
  readonly step?: number;
}

/** Largest accepted `chunkKb`; bounds the gRPC message size limits below. */
export const MAX_CHUNK_KB = 16384;
/** Largest accepted `bucketMb`. */
export const MAX_BUCKET_MB = 1024;
/** Room for the TensorChunk header fields around the payload (generous: the header is < 100 bytes). */
export const CHUNK_HEADER_ALLOWANCE_BYTES = 4096;
/** Largest TensorChunk message either side will send or accept. */
export const MAX_CHUNK_MESSAGE_BYTES = MAX_CHUNK_KB * 1024 + CHUNK_HEADER_ALLOWANCE_BYTES;
/** Largest PullRequest (tiny; a bound keeps a confused peer from making us buffer megabytes). */
export const MAX_REQUEST_MESSAGE_BYTES = 64 * 1024;

export const DEFAULT_COLLECTIVE_OPTIONS: CollectiveOptions = Object.freeze({
  dtype: 'float32',
  chunkKb: 1024,
  bucketMb: 64,
  bucketsInFlight: 2,
  timeoutMs: 30_000,
  lanes: 1,
  checksum: false,
});

function checkInteger(key: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`collective.${key}`, value, `an integer in [${min}, ${max}]`);
  }
}

/**
 * Merge per-call overrides into base options and validate the result.
 *
 * @throws ConfigError naming the offending key.
 */
export function resolveCollectiveOptions(base: CollectiveOptions, overrides: Partial<CollectiveOptions> = {}): CollectiveOptions {
  const merged: CollectiveOptions = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined && key in DEFAULT_COLLECTIVE_OPTIONS) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (merged.dtype !== 'float32' && merged.dtype !== 'float16') {
    throw new ConfigError('collective.dtype', merged.dtype, "'float32' or 'float16'");
  }
  checkInteger('chunkKb', merged.chunkKb, 1, MAX_CHUNK_KB);
  if (!(merged.bucketMb > 0 && merged.bucketMb <= MAX_BUCKET_MB)) {
    throw new ConfigError('collective.bucketMb', merged.bucketMb, `a number in (0, ${MAX_BUCKET_MB}]`);
  }
  checkInteger('bucketsInFlight', merged.bucketsInFlight, 1, 16);
  checkInteger('timeoutMs', merged.timeoutMs, 1, 24 * 3600 * 1000);
  checkInteger('lanes', merged.lanes, 1, 64);
  if (typeof merged.checksum !== 'boolean') throw new ConfigError('collective.checksum', merged.checksum, 'a boolean');
  return merged;
}

/**
 * HTTP/2 receive window (per stream and per connection) of the pulling side, in bytes. The
 * default 64 KiB lets a sender run only 64 KiB ahead of the receiver's event loop; a window of a
 * few chunks keeps the sender streaming while the receiver reduces.
 */
export const FLOW_CONTROL_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * Node's per-session memory credit (`maxSessionMemory`, in MB). It counts data queued for
 * sending, and a session over it refuses new streams (ENHANCE_YOUR_CALM): a sender may hold a
 * whole bucket (up to MAX_BUCKET_MB) queued for its neighbour, plus the next bucket's pulls.
 */
export const SESSION_MEMORY_MB = 4 * MAX_BUCKET_MB;

/**
 * SETTINGS every session of the data plane advertises, client and server alike. No larger
 * SETTINGS_MAX_FRAME_SIZE: Node's HTTP/2 sends DATA frames of at most 16 KiB whatever the peer
 * allows (measured; nghttp2's default read length), so a 1 MiB chunk arrives in 64 pieces anyway.
 */
export function http2SessionSettings(): http2.Settings {
  return { initialWindowSize: FLOW_CONTROL_WINDOW_BYTES, enablePush: false };
}
