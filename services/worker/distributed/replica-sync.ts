/**
 * Keeping data-parallel replicas identical: the whole training state (parameters, BatchNorm
 * buffers, SGD momentum) as one flat vector that a rank broadcasts when a ring forms — DDP
 * broadcasts module state at construction; elastic Horovod broadcasts the committed state after
 * every re-rendezvous — plus BatchNorm running-statistics averaging and the parameter digest the
 * coordinator compares across ranks.
 */
import { createHash } from 'node:crypto';
import type { Checkpoint } from '../../core/checkpoint/checkpoint-file.js';
import { exportState, flattenParams, importState } from '../models/index.js';
import type { Replica } from '../train/replica.js';
import { captureCheckpoint, restoreCheckpoint, type TrainCheckpointMeta } from '../train/train-checkpoint.js';
import type { RingCollective } from './ring-collective.js';

/** The replica's full state, flattened in a layout every replica of the model shares. */
export async function flatState(replica: Replica): Promise<{ flat: Float32Array; checkpoint: Checkpoint<TrainCheckpointMeta> }> {
  const checkpoint = await captureCheckpoint(replica, {
    experiment: '', seed: 0, batchSize: 0, worldSize: 0, epoch: 0, position: 0, globalStep: 0, history: [], trainSeconds: 0, trainImages: 0,
  });
  let n = 1;
  for (const t of checkpoint.tensors.values()) n += t.data.length;
  const flat = new Float32Array(n);
  let off = 0;
  for (const t of checkpoint.tensors.values()) {
    flat.set(t.data, off);
    off += t.data.length;
  }
  flat[off] = checkpoint.meta.sgdInitialised ? 1 : 0;
  return { flat, checkpoint };
}

/** Load a flat state (as produced by {@link flatState} on any replica of the model). */
export function loadFlatState(replica: Replica, flat: Float32Array, layout: Checkpoint<TrainCheckpointMeta>): void {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  let off = 0;
  for (const [name, t] of layout.tensors) {
    tensors.set(name, { shape: [...t.shape], data: flat.slice(off, off + t.data.length) });
    off += t.data.length;
  }
  if (off + 1 !== flat.length) throw new RangeError(`flat state has ${flat.length} values, the model needs ${off + 1}`);
  restoreCheckpoint(replica, { meta: { ...layout.meta, sgdInitialised: flat[off] === 1 }, tensors });
}

/** Make every replica adopt `root`'s full state. */
export async function broadcastState(replica: Replica, collective: RingCollective, root: number): Promise<void> {
  const { flat, checkpoint } = await flatState(replica);
  await collective.broadcast(flat, root);
  loadFlatState(replica, flat, checkpoint);
}

/** Average BatchNorm running statistics over the replicas (before evaluation and checkpoints). */
export async function averageBuffers(replica: Replica, collective: RingCollective, worldSize: number): Promise<void> {
  const buffers = replica.model.buffers;
  if (buffers.length === 0 || worldSize === 1) return;
  const values = await Promise.all(buffers.map((b) => b.variable.data() as Promise<Float32Array>));
  const flat = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let off = 0;
  for (const v of values) {
    flat.set(v, off);
    off += v.length;
  }
  await collective.allReduce(flat, {});
  const state = await exportState(replica.model);
  off = 0;
  for (const b of buffers) {
    const n = b.variable.size;
    state.set(b.name, flat.subarray(off, off + n).map((v) => v / worldSize));
    off += n;
  }
  importState(replica.model, state);
}

/** Short digest of the parameters (read from the device): equal on every rank when the replicas are in sync. */
export async function paramsDigest(replica: Replica): Promise<string> {
  const params = await flattenParams(replica.model);
  return createHash('sha256').update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).digest('hex').slice(0, 16);
}
