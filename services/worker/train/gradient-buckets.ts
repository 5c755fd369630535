/**
 * Gradient buckets, as PyTorch DDP forms them (Li et al., "PyTorch Distributed", VLDB 2020, §3.2.3):
 * parameters in *reverse* order of the model — roughly the order in which backward produces their
 * gradients — packed into buckets of at most `capacity` elements (a larger tensor gets a bucket of
 * its own). A step reads each bucket from the device as one flat array, in that order, so the
 * all-reduce of the last layers' gradients can start while the device still works on the first
 * layers'; the reduced buckets go back the same way.
 *
 * The layout depends only on the model and the capacity, so every rank of a ring derives the same
 * buckets and the all-reduce operations line up.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Param } from '../models/index.js';

/** Where one parameter's gradient lies in its bucket. */
export interface BucketSlot {
  /** Index into the model's `params`. */
  readonly param: number;
  readonly name: string;
  /** First element within the bucket. */
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
}

/** One bucket: a run of parameters in reverse model order. */
export interface Bucket {
  readonly slots: readonly BucketSlot[];
  /** Elements of all its gradients together. */
  readonly size: number;
}

export class GradientBuckets {
  /** In the order they are read and reduced: bucket 0 holds the last layers. */
  readonly buckets: readonly Bucket[];
  /** Elements of all buckets together (= the model's trainable parameter count). */
  readonly size: number;

  /**
   * @param params the model's parameters, in model order.
   * @param capacity most elements per bucket (a single larger tensor still gets one bucket).
   */
  constructor(params: readonly Param[], capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`bucket capacity must be a positive integer of elements, got ${capacity}`);
    const buckets: Bucket[] = [];
    let slots: BucketSlot[] = [];
    let offset = 0;
    for (let i = params.length - 1; i >= 0; i--) {
      const p = params[i]!;
      const size = p.variable.size;
      if (slots.length > 0 && offset + size > capacity) {
        buckets.push({ slots, size: offset });
        slots = [];
        offset = 0;
      }
      slots.push({ param: i, name: p.name, offset, size, shape: [...p.variable.shape] });
      offset += size;
    }
    if (slots.length > 0) buckets.push({ slots, size: offset });
    this.buckets = buckets;
    this.size = buckets.reduce((n, b) => n + b.size, 0);
  }

  /**
   * Bucket `b`'s gradients as one flat device tensor, `extra` (scalars) appended. The caller owns it.
   * @param grads gradients in model order.
   */
  gather(b: number, grads: readonly tf.Tensor[], extra: readonly tf.Tensor[] = []): tf.Tensor1D {
    const bucket = this.bucket(b);
    return tf.tidy(() => {
      const parts = [...bucket.slots.map((s) => grads[s.param]!), ...extra].map((t) => (t.rank === 1 ? t : t.reshape([-1])));
      return (parts.length === 1 ? parts[0]!.clone() : tf.concat(parts)) as tf.Tensor1D;
    });
  }

  /**
   * Split a (reduced) host bucket back into device tensors shaped like the parameters.
   * @returns [param index, gradient] pairs; the caller owns the tensors.
   */
  scatter(b: number, values: Float32Array): Array<[number, tf.Tensor]> {
    const bucket = this.bucket(b);
    if (values.length < bucket.size) throw new RangeError(`bucket ${b} needs ${bucket.size} values, got ${values.length}`);
    return tf.tidy(() => {
      // A copy: the cpu backend keeps a given array as the tensor's storage (and its slices as
      // views of it), and the optimizer may keep a gradient as its momentum buffer — the caller
      // reuses `values` next step. (webgpu would also upload lazily, from the array as it is then.)
      const flat = tf.tensor1d(values.slice(0, bucket.size), 'float32');
      const parts = bucket.slots.length === 1 ? [flat] : tf.split(flat, bucket.slots.map((s) => s.size));
      return bucket.slots.map((s, i) => [s.param, parts[i]!.reshape([...s.shape])] as [number, tf.Tensor]);
    });
  }

  /** Name of the parameter holding the first NaN/±Inf among bucket `b`'s first `size` values, or null. */
  nonFinite(b: number, values: Float32Array): string | null {
    const bucket = this.bucket(b);
    for (let k = 0; k < bucket.size; k++) {
      // v − v is 0 for finite v and NaN for NaN and ±Inf: one test instead of two.
      if (values[k]! - values[k]! !== 0) return bucket.slots.find((s) => k >= s.offset && k < s.offset + s.size)?.name ?? `bucket ${b}[${k}]`;
    }
    return null;
  }

  private bucket(b: number): Bucket {
    const bucket = this.buckets[b];
    if (bucket === undefined) throw new RangeError(`no gradient bucket ${b} (there are ${this.buckets.length})`);
    return bucket;
  }
}

/** Bucket capacity in float32 elements for a size in MB (MiB, as DDP's `bucket_cap_mb`). */
export function bucketElements(megabytes: number): number {
  return Math.max(1, Math.floor((megabytes * 2 ** 20) / 4));
}
