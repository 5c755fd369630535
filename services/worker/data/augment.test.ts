import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../core/errors.js';
import { Rng } from '../../core/random.js';
import { CIFAR10_MEAN, CIFAR10_STD, SAMPLE_FLOATS, drawAugmentChoice, fillBatch, gatherLabels, normalizePixel, writeSample, type AugmentChoice } from './augment.js';

const SIDE = 32;
const PLANE = SIDE * SIDE;

/** Hand-made CHW image: R encodes the column, G the row, B a checkerboard (all ≥ 1, so ≠ padding). */
function handMade(count = 1): Uint8Array {
  const images = new Uint8Array(count * 3 * PLANE);
  for (let n = 0; n < count; n++) {
    for (let y = 0; y < SIDE; y++) {
      for (let x = 0; x < SIDE; x++) {
        const base = n * 3 * PLANE + y * SIDE + x;
        images[base] = 1 + x * 7 + n;
        images[base + PLANE] = 1 + y * 7;
        images[base + 2 * PLANE] = (x + y) % 2 === 0 ? 50 : 200;
      }
    }
  }
  return images;
}

const closedForm = (v: number, c: number): number => (v / 255 - CIFAR10_MEAN[c]!) / CIFAR10_STD[c]!;
/** Output value at (y, x, c) of sample 0 in an NHWC batch. */
const at = (out: Float32Array, y: number, x: number, c: number): number => out[(y * SIDE + x) * 3 + c]!;
/** Byte at (y, x, c) of the source image, or 0 (zero padding) outside it. */
const src = (img: Uint8Array, y: number, x: number, c: number): number => (y < 0 || y >= SIDE || x < 0 || x >= SIDE ? 0 : img[c * PLANE + y * SIDE + x]!);

/**
 * Reference augmentation built the long way: materialise the 40×40 zero-padded image, cut the
 * 32×32 crop, then mirror it. Independent of the offset arithmetic in `writeSample`.
 */
function reference(img: Uint8Array, choice: AugmentChoice, pad = 4): Float32Array {
  const P = SIDE + 2 * pad;
  const padded = new Uint8Array(P * P * 3);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) for (let c = 0; c < 3; c++) padded[((y + pad) * P + x + pad) * 3 + c] = src(img, y, x, c);
  const crop = new Uint8Array(SIDE * SIDE * 3);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) for (let c = 0; c < 3; c++) crop[(y * SIDE + x) * 3 + c] = padded[((choice.top + y) * P + choice.left + x) * 3 + c]!;
  const out = new Float32Array(SAMPLE_FLOATS);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const cx = choice.flip ? SIDE - 1 - x : x;
      for (let c = 0; c < 3; c++) out[(y * SIDE + x) * 3 + c] = Math.fround(closedForm(crop[(y * SIDE + cx) * 3 + c]!, c));
    }
  }
  return out;
}

test('normalisation matches (v/255 − mean)/std for every byte and channel; eval mode transposes CHW→HWC', () => {
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) assert.ok(Math.abs(normalizePixel(v, c) - closedForm(v, c)) < 1e-6, `c=${c} v=${v}`);
  assert.ok(Math.abs(normalizePixel(255, 0) - (1 - 0.4914) / 0.2023) < 1e-6);
  const img = handMade();
  const out = fillBatch(img, [0], new Float32Array(SAMPLE_FLOATS), { augment: false });
  for (const [y, x] of [[0, 0], [0, 31], [17, 5], [31, 31]] as const) {
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(at(out, y, x, c) - closedForm(src(img, y, x, c), c)) < 1e-6, `(${y},${x},${c})`);
  }
});

test('crop and flip do the right geometry on a hand-made image', () => {
  const img = handMade();
  const run = (choice: AugmentChoice): Float32Array => {
    const out = new Float32Array(SAMPLE_FLOATS);
    writeSample(img, 0, out, 0, choice);
    return out;
  };
  const pixel = (y: number, x: number, c: number): number => normalizePixel(src(img, y, x, c), c);
  const padValue = (c: number): number => normalizePixel(0, c);

  // Centre crop, no flip: identity.
  assert.deepEqual(run({ top: 4, left: 4, flip: false }), fillBatch(img, [0], new Float32Array(SAMPLE_FLOATS), { augment: false }));
  // Crop from the top-left corner of the padding: the first 4 rows/columns are padding
  // (zeros in pixel space, so −mean/std after normalisation, not 0), then source (0, 0).
  const tl = run({ top: 0, left: 0, flip: false });
  for (let c = 0; c < 3; c++) {
    assert.equal(at(tl, 3, 10, c), padValue(c));
    assert.equal(at(tl, 10, 3, c), padValue(c));
    assert.equal(at(tl, 4, 4, c), pixel(0, 0, c));
    assert.equal(at(tl, 31, 31, c), pixel(27, 27, c));
    assert.ok(padValue(c) < 0);
  }
  // Bottom-right: output (0, 0) is source (4, 4); the last 4 rows/columns are padding.
  const br = run({ top: 8, left: 8, flip: false });
  assert.equal(at(br, 0, 0, 0), pixel(4, 4, 0));
  assert.equal(at(br, 27, 27, 1), pixel(31, 31, 1));
  assert.equal(at(br, 28, 0, 2), padValue(2));
  assert.equal(at(br, 0, 28, 0), padValue(0));
  // Flip alone mirrors columns and keeps rows.
  const flip = run({ top: 4, left: 4, flip: true });
  for (const [y, x] of [[0, 0], [5, 9], [31, 30]] as const) for (let c = 0; c < 3; c++) assert.equal(at(flip, y, x, c), pixel(y, 31 - x, c));
  // Crop then flip: with left = 0 the crop covers source columns −4..27, mirrored, so output
  // column x shows source column 27 − x and columns 28..31 are padding.
  const cropFlip = run({ top: 4, left: 0, flip: true });
  assert.equal(at(cropFlip, 7, 0, 0), pixel(7, 27, 0));
  assert.equal(at(cropFlip, 7, 27, 0), pixel(7, 0, 0));
  for (let x = 28; x < 32; x++) assert.equal(at(cropFlip, 7, x, 0), padValue(0));

  // Every one of the 9 × 9 × 2 choices agrees with the explicit pad-crop-mirror reference.
  for (let top = 0; top <= 8; top++) for (let left = 0; left <= 8; left++) for (const f of [false, true]) assert.deepEqual(run({ top, left, flip: f }), reference(img, { top, left, flip: f }));
});

test('augmented batches are reproducible from the Rng state and consume draws in the documented order', () => {
  const images = handMade(6);
  const indices = [5, 0, 3, 3, 1];
  const a = fillBatch(images, indices, new Float32Array(indices.length * SAMPLE_FLOATS), { augment: true, rng: new Rng(11) });
  const b = fillBatch(images, indices, new Float32Array(indices.length * SAMPLE_FLOATS), { augment: true, rng: new Rng(11) });
  assert.deepEqual(a, b);
  const c = fillBatch(images, indices, new Float32Array(indices.length * SAMPLE_FLOATS), { augment: true, rng: new Rng(12) });
  assert.notDeepEqual(a, c);
  // Sample k of the batch equals the reference for the k-th drawn choice on image indices[k].
  const replay = new Rng(11);
  indices.forEach((index, k) => {
    const choice = drawAugmentChoice(replay);
    const one = images.subarray(index * 3 * PLANE, (index + 1) * 3 * PLANE);
    assert.deepEqual(a.subarray(k * SAMPLE_FLOATS, (k + 1) * SAMPLE_FLOATS), reference(one, choice));
  });
  // The batch used exactly the draws of its samples: checkpointing the Rng after it resumes right.
  const after = new Rng(11);
  fillBatch(images, indices, new Float32Array(indices.length * SAMPLE_FLOATS), { augment: true, rng: after });
  assert.deepEqual(after.state(), replay.state());
});

test('choices cover all offsets and flip about half the time', () => {
  const rng = new Rng(5);
  const tops = new Set<number>();
  let flips = 0;
  const n = 4000;
  for (let i = 0; i < n; i++) {
    const ch = drawAugmentChoice(rng);
    tops.add(ch.top);
    if (ch.flip) flips++;
    assert.ok(ch.left >= 0 && ch.left <= 8);
  }
  assert.deepEqual([...tops].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.ok(Math.abs(flips / n - 0.5) < 0.05, `flip rate ${flips / n}`);
});

test('labels are gathered as int32; bad arguments are ConfigErrors', () => {
  const labels = Uint8Array.from([3, 1, 4, 1, 5]);
  assert.deepEqual(gatherLabels(labels, [4, 0, 2]), Int32Array.from([5, 3, 4]));
  const images = handMade(2);
  assert.throws(() => fillBatch(images, [0, 1], new Float32Array(SAMPLE_FLOATS), { augment: false }), (e: unknown) => e instanceof ConfigError && e.key === 'out.length');
  assert.throws(() => fillBatch(images, [2], new Float32Array(SAMPLE_FLOATS), { augment: false }), (e: unknown) => e instanceof ConfigError && e.key === 'indices[0]');
  assert.throws(() => fillBatch(images, [0], new Float32Array(SAMPLE_FLOATS), { augment: true }), (e: unknown) => e instanceof ConfigError && e.key === 'rng');
  assert.throws(() => gatherLabels(labels, [9]), ConfigError);
  // A larger reused buffer is fine; only the prefix is written.
  const big = new Float32Array(3 * SAMPLE_FLOATS).fill(42);
  fillBatch(images, [1], big, { augment: false });
  assert.equal(big[SAMPLE_FLOATS], 42);
});
