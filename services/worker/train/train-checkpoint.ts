/**
 * What a training checkpoint holds and how it maps onto a `Replica`: every parameter and buffer
 * by state-dict name, the SGD momentum buffer, and the position needed to continue bit for bit
 * (epoch, samples consumed in that epoch's shard, global step; augmentation randomness is derived
 * from (seed, epoch, position), so the seed is its whole RNG state).
 */
import { ConfigError } from '../../core/errors.js';
import type { Checkpoint, TensorEntry } from '../../core/checkpoint/checkpoint-file.js';
import { exportState, importState, stateLayout } from '../models/index.js';
import type { Replica } from './replica.js';
import type { TrainCheckpointMeta } from '../../core/training/checkpoint-meta.js';

export type { EpochRecord, TrainCheckpointMeta } from '../../core/training/checkpoint-meta.js';

export const OPTIMIZER_MOMENTUM_KEY = 'optimizer.momentum_buffer';

/** Capture the replica's state as a checkpoint. */
export async function captureCheckpoint(replica: Replica, meta: Omit<TrainCheckpointMeta, 'kind' | 'model' | 'sgdInitialised'>): Promise<Checkpoint<TrainCheckpointMeta>> {
  const tensors = new Map<string, TensorEntry>();
  const [state, sgd] = await Promise.all([exportState(replica.model), replica.sgd.state()]);
  for (const entry of stateLayout(replica.model)) tensors.set(entry.name, { shape: entry.shape, data: state.get(entry.name)! });
  tensors.set(OPTIMIZER_MOMENTUM_KEY, { shape: [sgd.momentumBuffer.length], data: sgd.momentumBuffer });
  return { meta: { ...meta, kind: 'encourage-train', model: replica.model.name, sgdInitialised: sgd.initialised }, tensors };
}

/** Refuse a checkpoint that is not a training checkpoint of this model (throws naming the mismatch). */
export function validateCheckpoint(ckpt: Checkpoint<TrainCheckpointMeta>, model: string): void {
  if (ckpt.meta.kind !== 'encourage-train') throw new ConfigError('checkpoint.kind', ckpt.meta.kind, "'encourage-train'");
  if (ckpt.meta.model !== model) throw new ConfigError('checkpoint.model', ckpt.meta.model, `a checkpoint of model '${model}'`);
  if (!ckpt.tensors.has(OPTIMIZER_MOMENTUM_KEY)) throw new ConfigError('checkpoint.tensors', [...ckpt.tensors.keys()].slice(0, 3), `to include ${OPTIMIZER_MOMENTUM_KEY}`);
}

/** Load a validated checkpoint into the replica (weights, buffers, optimizer). */
export function restoreCheckpoint(replica: Replica, ckpt: Checkpoint<TrainCheckpointMeta>): void {
  const state = new Map<string, Float32Array>();
  for (const [name, t] of ckpt.tensors) if (name !== OPTIMIZER_MOMENTUM_KEY) state.set(name, t.data);
  const momentum = ckpt.tensors.get(OPTIMIZER_MOMENTUM_KEY)!.data;
  // Checked before anything changes: a refused checkpoint must leave the replica as it was.
  if (momentum.length !== replica.sgd.size) {
    throw new ConfigError(`checkpoint.tensors.${OPTIMIZER_MOMENTUM_KEY}`, momentum.length, `${replica.sgd.size} values (model ${replica.model.name})`);
  }
  importState(replica.model, state);
  replica.sgd.restore({ momentumBuffer: momentum, initialised: ckpt.meta.sgdInitialised });
}
