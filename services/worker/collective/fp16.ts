import { SIMD_BLOCK_ELEMENTS, simdKernels } from './simd-kernels.js';

/**
 * IEEE 754 binary16 ("half") conversion for wire compression of gradients.
 *
 * Like Horovod's `Compression.fp16` and PyTorch DDP's `fp16_compress_hook`, only the bytes in
 * flight are half precision: every rank accumulates in float32. float32 → float16 rounds to
 * nearest, ties to even (the IEEE default, what `torch.Tensor.half()` and numpy do), with
 * overflow to ±Infinity beyond 65504 and gradual underflow to subnormals below 2^-14; the
 * relative rounding error of a normal value is at most 2^-11 (half an ulp), the absolute error of
 * a subnormal at most 2^-25.
 *
 * The encoder works on the float32 *bits* (a Uint32Array view of the same memory) using the
 * rebias-and-round trick of F. Giesen's `float_to_half_fast3_rtne`; the decoder is a 65,536-entry
 * table (256 KiB), which makes decode-and-accumulate a single indexed load per element.
 */

/** float16 bits → float32 value, for every one of the 65,536 bit patterns. */
export const FLOAT16_TO_FLOAT32: Float32Array = buildDecodeTable();

function buildDecodeTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >>> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    let value: number;
    if (exponent === 0) value = mantissa * 2 ** -24;
    else if (exponent === 0x1f) value = mantissa === 0 ? Infinity : NaN;
    else value = (1 + mantissa / 1024) * 2 ** (exponent - 15);
    table[h] = sign * value;
  }
  return table;
}

/** Largest finite float16 value. */
export const FLOAT16_MAX = 65504;

/** Unit roundoff of float16 (half an ulp of 1): bound on the relative error of one rounding. */
export const FLOAT16_UNIT_ROUNDOFF = 2 ** -11;

/** Largest absolute error of rounding a value in the subnormal range (half the smallest subnormal). */
export const FLOAT16_SUBNORMAL_ABS_ERROR = 2 ** -25;

// float32 bit patterns used by the encoder.
/** 2^-14, the smallest normal float16, as float32 bits. */
const F32_MIN_NORMAL_HALF_BITS = 0x38800000;
/** 2^16 as float32 bits: everything at or above it overflows to infinity. */
const F32_HALF_OVERFLOW_BITS = 0x47800000;
const F32_INFINITY_BITS = 0x7f800000;
/** (127 − 15) << 23: subtracting it rebiases the exponent; minus 0xfff adds the rounding bias. */
const REBIAS_MINUS_ROUND_BITS = 0x38000000 - 0xfff;
/** 2^24: a subnormal float16 is an integer multiple of 2^-24. */
const SUBNORMAL_SCALE = 16777216;

/**
 * Encode `count` float32 values of `src` (starting at `srcStart`) into float16 bits in `dst`
 * (starting at `dstStart`). `srcBits` must view the same memory as `src` (see {@link bitsView}).
 * Uses the WebAssembly SIMD kernel when available (simd-kernels.ts), else {@link encodeFloat16Scalar}.
 */
export function encodeFloat16(
  src: Float32Array,
  srcBits: Uint32Array,
  srcStart: number,
  dst: Uint16Array,
  dstStart: number,
  count: number,
): void {
  const k = simdKernels();
  if (k === null) {
    encodeFloat16Scalar(src, srcBits, srcStart, dst, dstStart, count);
    return;
  }
  for (let done = 0; done < count; done += SIMD_BLOCK_ELEMENTS) {
    const n = Math.min(SIMD_BLOCK_ELEMENTS, count - done);
    k.a.set(src.subarray(srcStart + done, srcStart + done + n));
    k.exports.encode(n);
    dst.set(n === SIMD_BLOCK_ELEMENTS ? k.c : k.c.subarray(0, n), dstStart + done);
  }
}

/** Scalar reference implementation of {@link encodeFloat16} (also the fallback). */
export function encodeFloat16Scalar(
  src: Float32Array,
  srcBits: Uint32Array,
  srcStart: number,
  dst: Uint16Array,
  dstStart: number,
  count: number,
): void {
  for (let i = 0; i < count; i++) {
    const x = srcBits[srcStart + i]!;
    const a = x & 0x7fffffff;
    let h: number;
    if (a >= F32_MIN_NORMAL_HALF_BITS) {
      if (a >= F32_HALF_OVERFLOW_BITS) {
        h = a > F32_INFINITY_BITS ? 0x7e00 : 0x7c00;
      } else {
        // Rebias the exponent, add 0xfff plus the lowest kept mantissa bit (ties to even), and
        // drop the 13 extra mantissa bits; a carry out of the mantissa correctly bumps the
        // exponent (up to infinity for values >= 65520).
        h = (a - REBIAS_MINUS_ROUND_BITS + ((a >>> 13) & 1)) >>> 13;
      }
    } else {
      // Subnormal or zero: an integer number of 2^-24 units, rounded half to even. Exact in
      // float64 arithmetic since |value| < 2^-14 has at most 24 significant bits.
      const v = Math.abs(src[srcStart + i]!) * SUBNORMAL_SCALE;
      let r = Math.round(v);
      if (r - v === 0.5 && (r & 1) === 1) r -= 1;
      h = r;
    }
    dst[dstStart + i] = h | ((x >>> 16) & 0x8000);
  }
}

/** Decode float16 bits into float32 values (overwriting `dst` from `dstStart`). */
export function decodeFloat16(src: Uint16Array, dst: Float32Array, dstStart: number): void {
  const k = simdKernels();
  if (k === null) {
    decodeFloat16Scalar(src, dst, dstStart);
    return;
  }
  const count = src.length;
  for (let done = 0; done < count; done += SIMD_BLOCK_ELEMENTS) {
    const n = Math.min(SIMD_BLOCK_ELEMENTS, count - done);
    k.c.set(src.subarray(done, done + n));
    k.exports.decode(n);
    dst.set(n === SIMD_BLOCK_ELEMENTS ? k.a : k.a.subarray(0, n), dstStart + done);
  }
}

/** Decode float16 bits and add them into `dst` from `dstStart` (float32 accumulation). */
export function addFloat16Into(src: Uint16Array, dst: Float32Array, dstStart: number): void {
  const k = simdKernels();
  if (k === null) {
    addFloat16IntoScalar(src, dst, dstStart);
    return;
  }
  const count = src.length;
  for (let done = 0; done < count; done += SIMD_BLOCK_ELEMENTS) {
    const n = Math.min(SIMD_BLOCK_ELEMENTS, count - done);
    k.a.set(dst.subarray(dstStart + done, dstStart + done + n));
    k.c.set(src.subarray(done, done + n));
    k.exports.addDecode(n);
    dst.set(n === SIMD_BLOCK_ELEMENTS ? k.a : k.a.subarray(0, n), dstStart + done);
  }
}

/** Scalar reference implementation of {@link decodeFloat16}. */
export function decodeFloat16Scalar(src: Uint16Array, dst: Float32Array, dstStart: number): void {
  const table = FLOAT16_TO_FLOAT32;
  const n = src.length;
  for (let i = 0; i < n; i++) dst[dstStart + i] = table[src[i]!]!;
}

/** Scalar reference implementation of {@link addFloat16Into}. */
export function addFloat16IntoScalar(src: Uint16Array, dst: Float32Array, dstStart: number): void {
  const table = FLOAT16_TO_FLOAT32;
  const n = src.length;
  for (let i = 0; i < n; i++) dst[dstStart + i]! += table[src[i]!]!;
}

/** A Uint32Array over the same memory as `values`, for {@link encodeFloat16}. */
export function bitsView(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Scalar float32 → float16 bits (tests and diagnostics; the hot path uses {@link encodeFloat16}). */
export function float32ToFloat16Bits(value: number): number {
  const one = new Float32Array([value]);
  const out = new Uint16Array(1);
  encodeFloat16Scalar(one, bitsView(one), 0, out, 0, 1);
  return out[0]!;
}
