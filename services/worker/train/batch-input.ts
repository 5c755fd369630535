/**
 * Turn a batch of sample indices into model input. The crop/flip of each sample is drawn from a
 * generator seeded by (run seed, epoch, sample index) — not by batch or rank — so that a sample
 * is augmented identically whichever worker, batch size or resume point it lands in: N workers at
 * batch B then see exactly the images one worker sees at batch N·B, and a resumed run repeats the
 * interrupted one bit for bit.
 */
import { Rng, deriveSeed } from '../../core/random.js';
import { fillBatch, gatherLabels, SAMPLE_FLOATS } from '../data/augment.js';
import type { Cifar10Data } from '../data/cifar10-format.js';

export { SAMPLE_FLOATS };

/**
 * Fill `out` (NHWC float32, at least indices.length samples) and return the input view and labels.
 * `epoch` is 0-based.
 */
export function prepareBatch(
  data: Pick<Cifar10Data, 'images' | 'labels'>,
  indices: Int32Array,
  out: Float32Array,
  opts: { augment: boolean; seed: number; epoch: number },
): { x: Float32Array; labels: Int32Array } {
  const x = out.subarray(0, indices.length * SAMPLE_FLOATS);
  if (!opts.augment) {
    fillBatch(data.images, indices, x, { augment: false });
  } else {
    for (let i = 0; i < indices.length; i++) {
      const sample = indices.subarray(i, i + 1);
      const rng = new Rng(deriveSeed(opts.seed, opts.epoch, sample[0]!));
      fillBatch(data.images, sample, x.subarray(i * SAMPLE_FLOATS, (i + 1) * SAMPLE_FLOATS), { augment: true, rng });
    }
  }
  return { x, labels: gatherLabels(data.labels, indices) };
}
