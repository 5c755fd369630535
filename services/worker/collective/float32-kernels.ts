/**
 * float32 reduction kernels of the all-reduce: `dst += src` and `out = a + b`, on the WebAssembly
 * SIMD kernels (simd-kernels.ts) when available — about 3× the scalar loop on the project's VMs,
 * copies into and out of the scratch memory included — else scalar JS.
 */
import { SIMD_BLOCK_ELEMENTS, simdKernels } from './simd-kernels.js';

/** `dst[dstStart + i] += src[i]` for every element of `src`. */
export function addFloat32Into(src: Float32Array, dst: Float32Array, dstStart: number): void {
  sumFloat32(dst, dstStart, src, dst, dstStart);
}

/** `out[i] = a[aStart + i] + b[i]` for every element of `b` (`out` may be `a`). */
export function sumFloat32(a: Float32Array, aStart: number, b: Float32Array, out: Float32Array, outStart: number): void {
  const k = simdKernels();
  const count = b.length;
  if (k === null) {
    for (let i = 0; i < count; i++) out[outStart + i] = a[aStart + i]! + b[i]!;
    return;
  }
  for (let done = 0; done < count; done += SIMD_BLOCK_ELEMENTS) {
    const n = Math.min(SIMD_BLOCK_ELEMENTS, count - done);
    k.a.set(a.subarray(aStart + done, aStart + done + n));
    k.b.set(b.subarray(done, done + n));
    k.exports.add32(n);
    out.set(n === SIMD_BLOCK_ELEMENTS ? k.a : k.a.subarray(0, n), outStart + done);
  }
}

/** Scalar reference of {@link sumFloat32} (tests). */
export function sumFloat32Scalar(a: Float32Array, aStart: number, b: Float32Array, out: Float32Array, outStart: number): void {
  const count = b.length;
  for (let i = 0; i < count; i++) out[outStart + i] = a[aStart + i]! + b[i]!;
}
