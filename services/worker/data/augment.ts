/**
 * Preprocessing and augmentation exactly as kuangliu/pytorch-cifar trains CIFAR-10:
 *
 *   train: RandomCrop(32, padding=4) → RandomHorizontalFlip(p=0.5) → ToTensor → Normalize(mean, std)
 *   eval:  ToTensor → Normalize(mean, std)
 *
 * The padding is zeros in *pixel* space (before ToTensor/Normalize), so a padded pixel
 * becomes (0 − mean)/std, not 0. Output is NHWC float32 (N×32×32×3), the layout TF.js
 * convolutions take, converted from the file's CHW bytes in the same pass. No TF.js here:
 * this runs on the worker's data path for every sample of every epoch, so it is plain
 * typed-array loops with a 3×256 lookup table instead of per-pixel arithmetic.
 *
 * Random draws per sample, in this order: crop top ∈ [0, 2·pad], crop left ∈ [0, 2·pad]
 * (torchvision's `randint(0, h + 2·pad − 32 + 1)`), then flip (`next() < 0.5`). The order
 * is part of the reproducibility contract: same Rng state + same indices ⇒ same batch.
 */
import { ConfigError } from '../../core/errors.js';
import type { Rng } from '../../core/random.js';
import { CIFAR10_CHANNELS, CIFAR10_IMAGE_BYTES, CIFAR10_PLANE_BYTES, CIFAR10_SIDE } from './cifar10-format.js';

/** Per-channel mean of CIFAR-10 training pixels in [0, 1] (R, G, B), as in kuangliu/pytorch-cifar. */
export const CIFAR10_MEAN: readonly [number, number, number] = [0.4914, 0.4822, 0.4465];
/** Per-channel standard deviation used by kuangliu/pytorch-cifar (R, G, B). */
export const CIFAR10_STD: readonly [number, number, number] = [0.2023, 0.1994, 0.201];
/** Zero padding of the random crop, in pixels. */
export const CIFAR10_CROP_PADDING = 4;
/** Floats per sample in the NHWC output. */
export const SAMPLE_FLOATS = CIFAR10_SIDE * CIFAR10_SIDE * CIFAR10_CHANNELS;

/** Options of {@link fillBatch}. */
export interface FillBatchOptions {
  /** true: random crop + flip + normalise (training); false: normalise only (evaluation). */
  augment: boolean;
  /** Source of the crop/flip choices; required when `augment` is true. */
  rng?: Rng;
  /** Crop padding in pixels (default 4). */
  padding?: number;
  /** Horizontal flip probability (default 0.5). */
  flipProbability?: number;
}

/**
 * `lut[c * 256 + v]` = (v/255 − mean[c]) / std[c], computed in float64 and rounded once to
 * float32, so the table equals the closed form to float32 precision.
 */
const LUT: Float32Array = (() => {
  const lut = new Float32Array(CIFAR10_CHANNELS * 256);
  for (let c = 0; c < CIFAR10_CHANNELS; c++) {
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - CIFAR10_MEAN[c]!) / CIFAR10_STD[c]!;
  }
  return lut;
})();

/** The normalised value of byte `v` in channel `c` (closed form, for tests and callers). */
export function normalizePixel(v: number, c: number): number {
  return LUT[c * 256 + v]!;
}

/** Augmentation choices for one sample (exposed so tests and debug tools can replay them). */
export interface AugmentChoice {
  /** Row of the padded image where the crop starts, in [0, 2·padding]. */
  top: number;
  /** Column of the padded image where the crop starts, in [0, 2·padding]. */
  left: number;
  flip: boolean;
}

/** Draw one sample's choices in the documented order. */
export function drawAugmentChoice(rng: Rng, padding = CIFAR10_CROP_PADDING, flipProbability = 0.5): AugmentChoice {
  const top = rng.nextInt(2 * padding + 1);
  const left = rng.nextInt(2 * padding + 1);
  const flip = rng.next() < flipProbability;
  return { top, left, flip };
}

/**
 * Write one sample into `out` at float offset `outOffset` (NHWC, 32×32×3).
 * With `choice` undefined the image is only normalised.
 */
export function writeSample(
  images: Uint8Array,
  index: number,
  out: Float32Array,
  outOffset: number,
  choice?: AugmentChoice,
  padding = CIFAR10_CROP_PADDING,
): void {
  const src = index * CIFAR10_IMAGE_BYTES;
  const side = CIFAR10_SIDE;
  if (choice === undefined) {
    for (let p = 0, o = outOffset; p < CIFAR10_PLANE_BYTES; p++, o += 3) {
      out[o] = LUT[images[src + p]!]!;
      out[o + 1] = LUT[256 + images[src + CIFAR10_PLANE_BYTES + p]!]!;
      out[o + 2] = LUT[512 + images[src + 2 * CIFAR10_PLANE_BYTES + p]!]!;
    }
    return;
  }
  // Output (y, x) reads padded (top + y, left + x') with x' = flip ? 31 − x : x (crop, then
  // flip the crop), i.e. source row top + y − pad and column left + x' − pad.
  const pad0 = LUT[0]!;
  const pad1 = LUT[256]!;
  const pad2 = LUT[512]!;
  const dy = choice.top - padding;
  const dx = choice.left - padding;
  for (let y = 0; y < side; y++) {
    const sy = y + dy;
    let o = outOffset + y * side * 3;
    if (sy < 0 || sy >= side) {
      for (let x = 0; x < side; x++, o += 3) {
        out[o] = pad0;
        out[o + 1] = pad1;
        out[o + 2] = pad2;
      }
      continue;
    }
    const row = src + sy * side;
    for (let x = 0; x < side; x++, o += 3) {
      const sx = (choice.flip ? side - 1 - x : x) + dx;
      if (sx < 0 || sx >= side) {
        out[o] = pad0;
        out[o + 1] = pad1;
        out[o + 2] = pad2;
      } else {
        const s = row + sx;
        out[o] = LUT[images[s]!]!;
        out[o + 1] = LUT[256 + images[s + CIFAR10_PLANE_BYTES]!]!;
        out[o + 2] = LUT[512 + images[s + 2 * CIFAR10_PLANE_BYTES]!]!;
      }
    }
  }
}

/**
 * Fill a float32 NHWC batch (N×32×32×3) from the samples `indices` of a CHW byte image
 * array. In augment mode each sample gets a random crop from 4-pixel zero padding and a
 * random horizontal flip, drawn from `rng` in index order; in eval mode it is normalised only.
 * @param images N_total × 3072 bytes (CHW planes, as loaded)
 * @param indices sample indices into `images`
 * @param out destination; its length must be at least `indices.length × 3072`
 *   (a larger, reused buffer is fine: only the prefix is written)
 * @returns `out`, for chaining
 * @throws ConfigError when `out` is too small, an index is out of range, or augment has no rng
 */
export function fillBatch(images: Uint8Array, indices: ArrayLike<number>, out: Float32Array, options: FillBatchOptions): Float32Array {
  const n = indices.length;
  if (out.length < n * SAMPLE_FLOATS) throw new ConfigError('out.length', out.length, `at least ${n} × ${SAMPLE_FLOATS} = ${n * SAMPLE_FLOATS}`);
  const padding = options.padding ?? CIFAR10_CROP_PADDING;
  if (!Number.isInteger(padding) || padding < 0 || padding > CIFAR10_SIDE) throw new ConfigError('padding', padding, `an integer in [0, ${CIFAR10_SIDE}]`);
  const flipProbability = options.flipProbability ?? 0.5;
  if (!(flipProbability >= 0 && flipProbability <= 1)) throw new ConfigError('flipProbability', flipProbability, 'a number in [0, 1]');
  if (options.augment && options.rng === undefined) throw new ConfigError('rng', undefined, 'an Rng when augment is true');
  const total = images.length / CIFAR10_IMAGE_BYTES;
  for (let i = 0; i < n; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= total) throw new ConfigError(`indices[${i}]`, index, `an integer in [0, ${total - 1}]`);
    const choice = options.augment ? drawAugmentChoice(options.rng!, padding, flipProbability) : undefined;
    writeSample(images, index, out, i * SAMPLE_FLOATS, choice, padding);
  }
  return out;
}

/**
 * Gather the labels of `indices` into an Int32Array (TF.js `oneHot` takes int32).
 * @param out optional reused destination (length ≥ indices.length)
 */
export function gatherLabels(labels: Uint8Array, indices: ArrayLike<number>, out?: Int32Array): Int32Array {
  const n = indices.length;
  const dst = out ?? new Int32Array(n);
  if (dst.length < n) throw new ConfigError('out.length', dst.length, `at least ${n}`);
  for (let i = 0; i < n; i++) {
    const index = indices[i]!;
    if (!Number.isInteger(index) || index < 0 || index >= labels.length) throw new ConfigError(`indices[${i}]`, index, `an integer in [0, ${labels.length - 1}]`);
    dst[i] = labels[index]!;
  }
  return dst;
}
