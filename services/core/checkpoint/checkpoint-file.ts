/**
 * The checkpoint file format: a self-describing header plus raw little-endian float32 payload,
 * with a SHA-256 of the payload so a truncated or corrupted file is refused instead of loaded.
 *
 *   "ENCKPT01" | uint32 LE header length | header JSON (padded to 8 bytes) | payload
 *
 * Files are written atomically (temp file in the same directory, fsync, rename, fsync of the
 * directory), so a crash mid-write never replaces a good checkpoint with a partial one.
 */
import { createHash } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { InputError } from '../errors.js';

const MAGIC = Buffer.from('ENCKPT01', 'ascii');
export const CHECKPOINT_FORMAT_VERSION = 1;

export interface TensorEntry {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What a checkpoint holds: named float32 tensors and JSON metadata (epoch, step, RNG, …). */
export interface Checkpoint<M = Record<string, unknown>> {
  readonly meta: M;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
}

interface Header {
  version: number;
  meta: unknown;
  entries: { name: string; shape: number[]; offset: number; length: number }[];
  payloadBytes: number;
  sha256: string;
}

/** Serialise a checkpoint to bytes. */
export function encodeCheckpoint(ckpt: Checkpoint<unknown>): Buffer {
  const entries: Header['entries'] = [];
  let offset = 0;
  for (const [name, t] of ckpt.tensors) {
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new RangeError(`tensor ${name}: shape [${t.shape}] has ${expected} elements, data has ${t.data.length}`);
    entries.push({ name, shape: [...t.shape], offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  const payload = Buffer.allocUnsafe(offset);
  for (const [i, t] of [...ckpt.tensors.values()].entries()) {
    const e = entries[i]!;
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(payload, e.offset);
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian hosts are not supported by the checkpoint format');
  const header: Header = {
    version: CHECKPOINT_FORMAT_VERSION,
    meta: ckpt.meta,
    entries,
    payloadBytes: payload.length,
    sha256: createHash('sha256').update(payload).digest('hex'),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((MAGIC.length + 4 + json.length) % 8)) % 8;
  json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length);
  return Buffer.concat([MAGIC, len, json, payload]);
}

/** Parse and verify bytes produced by `encodeCheckpoint`; `source` names the file in errors. */
export function decodeCheckpoint<M = Record<string, unknown>>(bytes: Buffer, source: string): Checkpoint<M> {
  if (bytes.length < MAGIC.length + 4 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new InputError('not an Encourage checkpoint (bad magic)', source, 0);
  }
  const headerLength = bytes.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > bytes.length) throw new InputError(`truncated header: needs ${headerEnd} bytes, file has ${bytes.length}`, source, MAGIC.length + 4);
  let header: Header;
  try {
    header = JSON.parse(bytes.subarray(MAGIC.length + 4, headerEnd).toString('utf8')) as Header;
  } catch (err) {
    throw new InputError('corrupt header JSON', source, MAGIC.length + 4, { cause: err });
  }
  if (header.version !== CHECKPOINT_FORMAT_VERSION) throw new InputError(`unsupported format version ${header.version}`, source, MAGIC.length + 4);
  const payload = bytes.subarray(headerEnd);
  if (payload.length !== header.payloadBytes) {
    throw new InputError(`truncated or oversized payload: expected ${header.payloadBytes} bytes, found ${payload.length}`, source, headerEnd);
  }
  const digest = createHash('sha256').update(payload).digest('hex');
  if (digest !== header.sha256) throw new InputError(`payload checksum mismatch (sha256 ${digest}, header says ${header.sha256})`, source, headerEnd);
  // Copy into an aligned buffer once; tensors are views into it.
  const aligned = new Float32Array(payload.length / 4);
  new Uint8Array(aligned.buffer).set(payload);
  const tensors = new Map<string, TensorEntry>();
  for (const e of header.entries) {
    tensors.set(e.name, { shape: e.shape, data: aligned.subarray(e.offset / 4, e.offset / 4 + e.length) });
  }
  return { meta: header.meta as M, tensors };
}

/** Write `ckpt` to `path` atomically: temp file, fsync, rename, fsync the directory. */
export async function writeCheckpointFile(path: string, ckpt: Checkpoint<unknown>): Promise<number> {
  const bytes = encodeCheckpoint(ckpt);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  return bytes.length;
}

/** Read and verify a checkpoint file. */
export async function readCheckpointFile<M = Record<string, unknown>>(path: string): Promise<Checkpoint<M>> {
  return decodeCheckpoint<M>(await readFile(path), path);
}
