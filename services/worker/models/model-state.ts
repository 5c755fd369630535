/**
 * Model state as plain named arrays, for checkpoints: params then buffers, keyed by their
 * PyTorch-style state-dict names. Arrays are in tfjs layout (conv [kh, kw, in, out], linear
 * [in, out]); `stateLayout` gives the shapes a checkpoint writer should record next to them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { sizeOf } from './layers/init.js';
import type { Model } from './model.js';
import { ModelStateError } from './model-errors.js';

/** One tensor of a model's state. */
export interface StateEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: 'param' | 'buffer';
}

/** Total number of trainable scalars (what `sum(p.numel() for p in m.parameters())` prints). */
export function countTrainableParams(model: Model): number {
  let n = 0;
  for (const p of model.params) n += p.variable.size;
  return n;
}

/** Names, shapes and kinds of every state tensor, params first, in model order. */
export function stateLayout(model: Model): StateEntry[] {
  return [
    ...model.params.map((p) => ({ name: p.name, shape: [...p.variable.shape], kind: 'param' as const })),
    ...model.buffers.map((b) => ({ name: b.name, shape: [...b.variable.shape], kind: 'buffer' as const })),
  ];
}

/**
 * Copy every param and buffer out of the model (asynchronous device reads, issued together).
 * @returns a Map in `stateLayout` order; the arrays are fresh copies owned by the caller.
 */
export async function exportState(model: Model): Promise<Map<string, Float32Array>> {
  const entries = [...model.params, ...model.buffers];
  const values = await Promise.all(entries.map(({ variable }) => variable.data() as Promise<Float32Array>));
  const state = new Map<string, Float32Array>();
  // Copy: the cpu backend's data() resolves to its live storage.
  for (const [i, { name }] of entries.entries()) state.set(name, Float32Array.from(values[i]!));
  return state;
}

/**
 * Overwrite every param and buffer from `state`. Validates everything first and changes nothing
 * if any check fails: every model tensor must be present as a Float32Array with the right number
 * of elements, and no extra names may appear. Pending running statistics are discarded (they
 * were computed against the replaced weights).
 * @throws ModelStateError naming the first offending tensor.
 */
export function importState(model: Model, state: ReadonlyMap<string, Float32Array>): void {
  const targets = [...model.params, ...model.buffers];
  const known = new Set(targets.map((t) => t.name));
  for (const key of state.keys()) {
    if (!known.has(key)) throw new ModelStateError(key, `is not a tensor of model ${model.name}`);
  }
  for (const { name, variable } of targets) {
    const values = state.get(name);
    if (values === undefined) throw new ModelStateError(name, `missing (model ${model.name} needs shape [${variable.shape.join(',')}])`);
    if (!(values instanceof Float32Array)) throw new ModelStateError(name, 'is not a Float32Array');
    if (values.length !== sizeOf(variable.shape)) {
      throw new ModelStateError(name, `has ${values.length} values, expected shape [${variable.shape.join(',')}] = ${variable.size} values`);
    }
  }
  model.discardRunningStats();
  for (const { name, variable } of targets) {
    const values = state.get(name) as Float32Array;
    // slice(): the cpu backend would otherwise alias the caller's array.
    tf.tidy(() => variable.assign(tf.tensor(values.slice(), variable.shape, 'float32')));
  }
}
