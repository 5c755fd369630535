import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../core/random.js';
import {
  FLOAT16_TO_FLOAT32,
  addFloat16Into,
  addFloat16IntoScalar,
  bitsView,
  decodeFloat16,
  encodeFloat16,
  encodeFloat16Scalar,
  float32ToFloat16Bits,
} from './fp16.js';
import { addFloat32Into, sumFloat32, sumFloat32Scalar } from './float32-kernels.js';
import { simdKernels } from './simd-kernels.js';

/** Independent reference: the nearest float16 by search over all finite values, ties to even. */
const FINITE_POSITIVE: number[] = [];
for (let h = 0; h < 0x7c00; h++) FINITE_POSITIVE.push(FLOAT16_TO_FLOAT32[h]!);
function referenceBits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Beyond 65504 + half an ulp (65520) the nearest representable value is infinity.
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = FINITE_POSITIVE.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (FINITE_POSITIVE[mid]! <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - FINITE_POSITIVE[lo]!;
  const dHi = FINITE_POSITIVE[hi]! - a;
  const pick = dLo < dHi ? lo : dHi < dLo ? hi : lo % 2 === 0 ? lo : hi;
  return sign | pick;
}

test('every float16 value decodes and re-encodes to itself (scalar and SIMD)', () => {
  const all = new Float32Array(65536);
  const halves = new Uint16Array(65536).map((_, i) => i);
  decodeFloat16(halves, all, 0);
  for (let h = 0; h < 65536; h++) {
    const expected = FLOAT16_TO_FLOAT32[h]!;
    assert.ok(Object.is(all[h], expected) || (Number.isNaN(all[h]!) && Number.isNaN(expected)), `decode ${h.toString(16)}`);
  }
  const viaSimd = new Uint16Array(65536);
  const viaScalar = new Uint16Array(65536);
  encodeFloat16(all, bitsView(all), 0, viaSimd, 0, 65536);
  encodeFloat16Scalar(all, bitsView(all), 0, viaScalar, 0, 65536);
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) {
      assert.equal(viaSimd[h]! & 0x7c00, 0x7c00);
      assert.notEqual(viaSimd[h]! & 0x3ff, 0);
    } else {
      assert.equal(viaSimd[h], h, `simd re-encode ${h.toString(16)}`);
      assert.equal(viaScalar[h], h, `scalar re-encode ${h.toString(16)}`);
    }
  }
});

test('float32 → float16 rounds to nearest, ties to even, across normal, subnormal and overflow ranges', () => {
  const cases: Array<[number, number]> = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [65504, 0x7bff],
    [65519.99, 0x7bff],
    [65520, 0x7c00], // tie between 65504 and 65536 → even (infinity)
    [1e6, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
    [3 * 2 ** -25, 0x0002], // tie between 2^-24 and 2^-23 → even
    [2 ** -14, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie → even mantissa
    [1 + 3 * 2 ** -11, 0x3c02],
  ];
  for (const [value, bits] of cases) assert.equal(float32ToFloat16Bits(value), bits, `encode ${value}`);
  assert.equal(float32ToFloat16Bits(NaN) & 0x7e00, 0x7e00);

  const rng = new Rng(11);
  const n = 20_000;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Log-uniform magnitudes from 2^-30 to 2^17 so that every range is exercised.
    values[i] = (rng.next() < 0.5 ? -1 : 1) * 2 ** (rng.next() * 47 - 30);
  }
  const out = new Uint16Array(n);
  encodeFloat16(values, bitsView(values), 0, out, 0, n);
  for (let i = 0; i < n; i++) assert.equal(out[i], referenceBits(values[i]!), `value ${values[i]}`);
});

test('SIMD and scalar kernels agree bit for bit on arbitrary bit patterns and odd lengths', () => {
  assert.notEqual(simdKernels(), null, 'WebAssembly SIMD is available on Node 20');
  const rng = new Rng(5);
  for (const n of [1, 7, 8, 9, 16383, 16384, 16385, 40_001]) {
    const values = new Float32Array(n);
    const bits = bitsView(values);
    for (let i = 0; i < n; i++) bits[i] = rng.nextUint32();
    const a = new Uint16Array(n + 3);
    const b = new Uint16Array(n + 3);
    encodeFloat16(values, bits, 0, a, 3, n);
    encodeFloat16Scalar(values, bits, 0, b, 3, n);
    for (let i = 0; i < n + 3; i++) {
      const nan = Number.isNaN(values[i - 3] ?? 0);
      if (!nan) assert.equal(a[i], b[i], `n=${n} i=${i}`);
    }
    const accA = new Float32Array(n + 2).fill(0.5);
    const accB = accA.slice();
    const halves = b.subarray(3).map((h) => h & 0x7bff); // finite values only
    addFloat16Into(halves, accA, 2);
    addFloat16IntoScalar(halves, accB, 2);
    assert.deepEqual(accA, accB);

    const x = Float32Array.from({ length: n + 1 }, () => rng.next() - 0.5);
    const y = Float32Array.from({ length: n }, () => rng.next() - 0.5);
    const viaSimd = new Float32Array(n + 4);
    const viaScalar = new Float32Array(n + 4);
    sumFloat32(x, 1, y, viaSimd, 4);
    sumFloat32Scalar(x, 1, y, viaScalar, 4);
    assert.deepEqual(viaSimd, viaScalar);
    const inPlace = x.slice();
    addFloat32Into(y, inPlace, 1);
    assert.deepEqual(inPlace.subarray(1), viaScalar.subarray(4));
    assert.equal(inPlace[0], x[0]);
  }
});
