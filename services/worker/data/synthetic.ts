/**
 * A learnable stand-in for CIFAR-10, for machines that cannot download it (CI, this sandbox)
 * and for fast smoke runs (`--data synthetic`). Each class is a coloured shape on a noisy,
 * randomly tinted background, with random position and scale, so a convolutional model has
 * something translation-invariant to learn. Three class pairs share a shape and nearly share
 * a colour (cat/dog, deer/horse, automobile/truck), differing only by a small colour shift and
 * a size bias that the jitter overlaps. Measured on 10k/2k images: nearest-class-mean on raw
 * pixels ≈ 37%; a k-NN on hand-made translation-invariant features (foreground colour, area,
 * spread) ≈ 84%, near-perfect on the distinct classes and ~70% within the pairs. So a model
 * learns the easy classes fast and then has to work on ambiguous examples, which is where
 * the loss functions differ.
 *
 * The output is byte-for-byte the CIFAR-10 binary layout (CHW planes), so the same loader,
 * augmentation and sampler run on it; `writeSyntheticCifar10` writes the official file set.
 */
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/random.js';
import {
  CIFAR10_CLASS_NAMES,
  CIFAR10_IMAGE_BYTES,
  CIFAR10_NUM_CLASSES,
  CIFAR10_PLANE_BYTES,
  CIFAR10_SIDE,
  CIFAR10_TRAIN_FILES,
  writeCifar10Dataset,
  type Cifar10Data,
} from './cifar10-format.js';

// Shapes are small integers, not strings: `inside` runs once per pixel and a string switch
// there made generation several times slower.
const CROSS = 0;
const WIDE_RECT = 1;
const TRIANGLE = 2;
const ELLIPSE = 3;
const DIAMOND = 4;
const DISC = 5;
const HULL = 6;
type Shape = typeof CROSS | typeof WIDE_RECT | typeof TRIANGLE | typeof ELLIPSE | typeof DIAMOND | typeof DISC | typeof HULL;

interface ClassStyle {
  shape: Shape;
  /** Mean fill colour, RGB 0..255. */
  rgb: readonly [number, number, number];
  /** Multiplies the base radius; the confusable pairs differ here by less than the jitter. */
  scale: number;
}

/** Per-class look, in label order (see `CIFAR10_CLASS_NAMES`). */
const STYLES: readonly ClassStyle[] = [
  { shape: CROSS, rgb: [170, 185, 215], scale: 1.0 }, // airplane
  { shape: WIDE_RECT, rgb: [200, 45, 40], scale: 0.9 }, // automobile ~ truck
  { shape: TRIANGLE, rgb: [215, 190, 50], scale: 0.85 }, // bird
  { shape: ELLIPSE, rgb: [150, 105, 65], scale: 0.95 }, // cat ~ dog
  { shape: DIAMOND, rgb: [175, 135, 80], scale: 1.0 }, // deer ~ horse
  { shape: ELLIPSE, rgb: [162, 108, 58], scale: 1.05 }, // dog
  { shape: DISC, rgb: [60, 165, 65], scale: 0.85 }, // frog
  { shape: DIAMOND, rgb: [160, 122, 78], scale: 1.1 }, // horse
  { shape: HULL, rgb: [45, 85, 190], scale: 1.0 }, // ship
  { shape: WIDE_RECT, rgb: [186, 52, 52], scale: 1.05 }, // truck
];

/** Base object radius in pixels before class scale and jitter. */
const BASE_RADIUS_PX = 8.5;
/** Object centre moves up to this far from the image centre, per axis. */
const POSITION_JITTER_PX = 6;
/** Radius is multiplied by a uniform factor in [1 - s, 1 + s]. */
const SCALE_JITTER = 0.2;
/** Fill colour moves up to this far per channel. */
const COLOUR_JITTER = 22;
/** Per-pixel noise amplitude (triangular distribution in [-a, a]). */
const NOISE_AMPLITUDE = 28;

/** Is the point (u, v), in object-radius units around the centre, inside the shape? */
function inside(shape: Shape, u: number, v: number): boolean {
  const au = Math.abs(u);
  const av = Math.abs(v);
  switch (shape) {
    case CROSS:
      return (au <= 1 && av <= 0.22) || (au <= 0.22 && av <= 0.8);
    case WIDE_RECT:
      return au <= 1 && av <= 0.55;
    case TRIANGLE:
      return v <= 0.8 && v >= -0.9 && au <= (v + 0.9) * 0.6;
    case ELLIPSE:
      return u * u + (v * v) / 0.45 <= 1;
    case DIAMOND:
      return au + av <= 1;
    case DISC:
      return u * u + v * v <= 1;
    case HULL:
      // A trapezoid hull with a thin mast: distinct from the plain rectangle of the cars.
      return (v >= 0.1 && v <= 0.6 && au <= 1 - (v - 0.1) * 0.8) || (au <= 0.1 && v >= -0.8 && v < 0.1);
  }
}


/**
 * Draw one image into `out[offset .. offset + 3072)` (CHW planes); stores round and clamp.
 * Draw order is fixed (background, object, then noise plane by plane, row by row) so a seed
 * always gives the same bytes.
 */
function drawImage(rng: Rng, label: number, out: Uint8ClampedArray, offset: number): void {
  const style = STYLES[label]!;
  // Background: a desaturated random tint with a vertical gradient (sky/ground-like).
  const grey = 35 + rng.nextInt(170);
  const bg = [0, 1, 2].map(() => grey + rng.nextInt(41) - 20);
  const gradient = rng.nextInt(61) - 30;
  const cx = CIFAR10_SIDE / 2 + (rng.next() * 2 - 1) * POSITION_JITTER_PX;
  const cy = CIFAR10_SIDE / 2 + (rng.next() * 2 - 1) * POSITION_JITTER_PX;
  const radius = BASE_RADIUS_PX * style.scale * (1 + (rng.next() * 2 - 1) * SCALE_JITTER);
  const brightness = 0.85 + rng.next() * 0.3;
  const fg = style.rgb.map((c) => c * brightness + rng.nextInt(2 * COLOUR_JITTER + 1) - COLOUR_JITTER);
  const inv = 1 / radius;
  // Rasterise the shape once, then fill the three planes; keeps the inner loops branch-light.
  const mask = new Uint8Array(CIFAR10_PLANE_BYTES);
  for (let y = 0; y < CIFAR10_SIDE; y++) {
    const v = (y + 0.5 - cy) * inv;
    for (let x = 0; x < CIFAR10_SIDE; x++) mask[y * CIFAR10_SIDE + x] = inside(style.shape, (x + 0.5 - cx) * inv, v) ? 1 : 0;
  }
  const noiseScale = NOISE_AMPLITUDE / 255;
  // Pixel noise comes from an inline xorshift32 seeded from the image's Rng: ~10x cheaper than
  // a method call per sample, still fully determined by the seed.
  let state = rng.nextUint32() | 1;
  for (let c = 0; c < 3; c++) {
    const plane = offset + c * CIFAR10_PLANE_BYTES;
    const fill = fg[c]!;
    const back = bg[c]!;
    for (let y = 0; y < CIFAR10_SIDE; y++) {
      const rowBack = back + gradient * (y / (CIFAR10_SIDE - 1) - 0.5);
      // Each uint32 yields two triangular noise samples (sum of two bytes each).
      for (let x = 0; x < CIFAR10_SIDE; x += 2) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        const r = state >>> 0;
        const p = y * CIFAR10_SIDE + x;
        const n0 = ((r & 0xff) + ((r >>> 8) & 0xff) - 255) * noiseScale;
        const n1 = (((r >>> 16) & 0xff) + (r >>> 24) - 255) * noiseScale;
        out[plane + p] = (mask[p] === 1 ? fill : rowBack) + n0;
        out[plane + p + 1] = (mask[p + 1] === 1 ? fill : rowBack) + n1;
      }
    }
  }
}

/** Seed of the test split's stream, derived so the two splits never share draws. */
function testSeed(seed: number): number {
  return (Math.trunc(seed) ^ 0x5bd1e995) >>> 0;
}

function checkCount(key: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(key, value, `an integer >= ${min}`);
}

/**
 * Generate one split in memory. Labels are balanced (each class appears ⌊n/10⌋ or ⌈n/10⌉
 * times) in a seeded random order.
 * @param count number of images
 * @param seed any integer; the same (count, seed) always gives identical bytes
 */
export function generateSyntheticSplit(count: number, seed: number): Cifar10Data {
  checkCount('count', count, 0);
  if (!Number.isFinite(seed)) throw new ConfigError('seed', seed, 'a finite integer');
  const rng = new Rng(seed);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = i % CIFAR10_NUM_CLASSES;
  const order = rng.permutation(count);
  const shuffled = new Uint8Array(count);
  for (let i = 0; i < count; i++) shuffled[i] = labels[order[i]!]!;
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  // A clamped view rounds and saturates on store, which is exactly the pixel quantisation wanted.
  const clamped = new Uint8ClampedArray(images.buffer, images.byteOffset, images.length);
  for (let i = 0; i < count; i++) drawImage(rng, shuffled[i]!, clamped, i * CIFAR10_IMAGE_BYTES);
  return { images, labels: shuffled, classNames: [...CIFAR10_CLASS_NAMES], count };
}

/** Options of the synthetic generators. */
export interface SyntheticOptions {
  /** Training images. */
  train: number;
  /** Test images. */
  test: number;
  /** Seed; the train and test splits use independent streams derived from it. */
  seed: number;
}

/**
 * Generate both splits in memory (what `--data synthetic` trains on). The train split does not
 * depend on `test` and vice versa, so growing one keeps the other's images.
 */
export function generateSyntheticCifar10(options: SyntheticOptions): { train: Cifar10Data; test: Cifar10Data } {
  checkCount('train', options.train, 0);
  checkCount('test', options.test, 0);
  return { train: generateSyntheticSplit(options.train, options.seed), test: generateSyntheticSplit(options.test, testSeed(options.seed)) };
}

/**
 * Generate a synthetic dataset and write it in the CIFAR-10 binary format: `data_batch_1..5.bin`
 * splitting `train`, `test_batch.bin` with `test`, `batches.meta.txt` with the real class names.
 * @throws ConfigError when `train` < 5 or `test` < 1 (every batch file needs a record)
 */
export async function writeSyntheticCifar10(
  options: SyntheticOptions & { outDir: string },
): Promise<{ outDir: string; train: number; test: number; seed: number; files: string[] }> {
  checkCount('train', options.train, CIFAR10_TRAIN_FILES.length);
  checkCount('test', options.test, 1);
  const data = generateSyntheticCifar10(options);
  const files = await writeCifar10Dataset(options.outDir, { ...data, classNames: CIFAR10_CLASS_NAMES });
  return { outDir: options.outDir, train: options.train, test: options.test, seed: options.seed, files };
}
