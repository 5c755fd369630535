/**
 * Flat views of a model's params and gradients for the fused all-reduce: one Float32Array holding
 * every param (or gradient) back to back in `model.params` order, each in its row-major tfjs
 * layout. Only trainable params take part; BatchNorm running statistics stay rank-local as in
 * PyTorch DDP (which broadcasts buffers from rank 0 instead of averaging them).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from './model.js';
import { ModelStateError } from './model-errors.js';
import { countTrainableParams } from './model-state.js';

/** Where one param lives in the flat buffer. */
export interface ParamSlot {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

/** Offsets of every param in the flat buffer, in `model.params` order. */
export function paramLayout(model: Model): ParamSlot[] {
  let offset = 0;
  return model.params.map((p) => {
    const slot = { name: p.name, offset, size: p.variable.size, shape: [...p.variable.shape] };
    offset += p.variable.size;
    return slot;
  });
}

/** Gradients from a `tf.variableGrads` map (keyed by `variable.name`), reordered as `model.params`. */
export function gradsInParamOrder(model: Model, grads: tf.NamedTensorMap): tf.Tensor[] {
  return model.params.map((p) => {
    const g = grads[p.variable.name];
    if (g === undefined) throw new ModelStateError(p.name, `no gradient (looked up as ${JSON.stringify(p.variable.name)})`);
    return g;
  });
}

/**
 * Copy all params into one flat array (asynchronous device reads).
 * @param out optional destination of exactly `countTrainableParams(model)` elements, reused across steps.
 */
export async function flattenParams(model: Model, out?: Float32Array): Promise<Float32Array> {
  return flattenTensors(model, model.params.map((p) => p.variable), out);
}

/**
 * Copy gradients into one flat array in `model.params` order.
 * @param grads the `grads` map of `tf.variableGrads`, or an array of tensors in param order.
 * @param out optional destination of exactly `countTrainableParams(model)` elements, reused across steps.
 */
export async function flattenGrads(model: Model, grads: tf.NamedTensorMap | readonly tf.Tensor[], out?: Float32Array): Promise<Float32Array> {
  const ordered = Array.isArray(grads) ? (grads as readonly tf.Tensor[]) : gradsInParamOrder(model, grads as tf.NamedTensorMap);
  if (ordered.length !== model.params.length) {
    throw new ModelStateError('gradients', `got ${ordered.length} tensors for ${model.params.length} params`);
  }
  return flattenTensors(model, ordered, out);
}

/**
 * Split a flat gradient buffer back into tensors, keyed by `variable.name` like the `grads` map of
 * `tf.variableGrads`, so an optimiser can consume averaged and local gradients alike. The caller
 * owns (and must dispose) the returned tensors.
 */
export function unflattenGrads(model: Model, flat: Float32Array): tf.NamedTensorMap {
  checkFlatLength(model, flat);
  const grads: tf.NamedTensorMap = {};
  for (const [i, slot] of paramLayout(model).entries()) {
    const p = model.params[i]!;
    // slice(): copies, so the caller may reuse `flat` (the cpu backend would alias a subarray).
    grads[p.variable.name] = tf.tensor(flat.slice(slot.offset, slot.offset + slot.size), [...slot.shape], 'float32');
  }
  return grads;
}

/** Overwrite all params from a flat buffer (e.g. rank 0's initial weights broadcast to every rank). */
export function loadFlatParams(model: Model, flat: Float32Array): void {
  checkFlatLength(model, flat);
  for (const [i, slot] of paramLayout(model).entries()) {
    const v = model.params[i]!.variable;
    tf.tidy(() => v.assign(tf.tensor(flat.slice(slot.offset, slot.offset + slot.size), [...slot.shape], 'float32')));
  }
}

async function flattenTensors(model: Model, tensors: readonly tf.Tensor[], out?: Float32Array): Promise<Float32Array> {
  const total = countTrainableParams(model);
  const dest = out ?? new Float32Array(total);
  checkFlatLength(model, dest, total);
  for (const [i, t] of tensors.entries()) {
    const p = model.params[i]!;
    if (!sameShape(t.shape, p.variable.shape)) {
      throw new ModelStateError(p.name, `tensor shape [${t.shape.join(',')}] does not match param shape [${p.variable.shape.join(',')}]`);
    }
  }
  return readConcatenated(tensors, dest);
}

/**
 * Read float32 tensors back to back into one array: asynchronous device reads, issued together.
 * @param out destination of exactly the tensors' total size (default: a new array).
 */
export async function readConcatenated(tensors: readonly tf.Tensor[], out?: Float32Array): Promise<Float32Array> {
  const total = tensors.reduce((n, t) => n + t.size, 0);
  const dest = out ?? new Float32Array(total);
  if (dest.length !== total) throw new RangeError(`destination has ${dest.length} elements for ${total} values`);
  const values = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  let offset = 0;
  for (const v of values) {
    dest.set(v, offset);
    offset += v.length;
  }
  return dest;
}

function checkFlatLength(model: Model, flat: Float32Array, total = countTrainableParams(model)): void {
  if (flat.length !== total) {
    throw new ModelStateError('flat buffer', `has ${flat.length} elements, model ${model.name} has ${total} params`);
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
