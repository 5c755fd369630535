/**
 * WebAssembly SIMD kernels for the reduction hot path: float32 → float16 (round to nearest even),
 * float16 → float32, float16 decode-and-add, and float32 add.
 *
 * Why: the scalar JS versions (fp16.ts) cost 3–5 ns per element on the project's VMs, which made a
 * float16 wire *slower* than float32 although it halves the bytes. With 128-bit SIMD the same
 * bit manipulation handles 4–8 elements per instruction. The module is assembled here from a few
 * hundred bytes (no build step, no binary in the repository); the algorithms are F. Giesen's
 * branch-free conversions (`float_to_half_fast3_rtne`, `half_to_float_fast5`), with the branches
 * turned into lane masks and `v128.bitselect`.
 *
 * WebAssembly code only reads its own memory, so the JS wrappers copy blocks of
 * {@link SIMD_BLOCK_ELEMENTS} elements in and out of a scratch area (memcpy runs at tens of GB/s,
 * an order of magnitude faster than the scalar conversion it replaces).
 */

/** Elements per block copied through the scratch memory (a multiple of 8). */
export const SIMD_BLOCK_ELEMENTS = 16384;
/** Scratch layout (byte offsets): float32 block A, float32 block B, uint16 block C. */
const A_OFFSET = 0;
const B_OFFSET = SIMD_BLOCK_ELEMENTS * 4;
const C_OFFSET = SIMD_BLOCK_ELEMENTS * 8;
const MEMORY_PAGES = Math.ceil((SIMD_BLOCK_ELEMENTS * 10) / 65536);

// --- a tiny assembler -----------------------------------------------------------------------

function uleb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const simd = (op: number, ...immediates: number[]): number[] => [0xfd, ...uleb(op), ...immediates];
/** v128.const with the same 32-bit value in all four lanes. */
const splat32 = (value: number): number[] => {
  const bytes: number[] = [];
  for (let lane = 0; lane < 4; lane++) for (let b = 0; b < 4; b++) bytes.push((value >>> (8 * b)) & 0xff);
  return simd(0x0c, ...bytes);
};
const get = (index: number): number[] => [0x20, ...uleb(index)];
const set = (index: number): number[] => [0x21, ...uleb(index)];
const i32 = (value: number): number[] => [0x41, ...sleb(value)];
/** memarg: alignment hint 2^4 = 16 bytes, then the static offset. */
const load = (offset: number): number[] => simd(0x00, 4, ...uleb(offset));
const store = (offset: number): number[] => simd(0x0b, 4, ...uleb(offset));

const OP = {
  and: 0x4e,
  or: 0x50,
  bitselect: 0x52,
  narrowU: 0x86,
  extendLowU: 0xa9,
  extendHighU: 0xaa,
  shl: 0xab,
  shrU: 0xad,
  add: 0xae,
  sub: 0xb1,
  eq: 0x37,
  ltU: 0x3a,
  gtU: 0x3c,
  geU: 0x40,
  fadd: 0xe4,
  fsub: 0xe5,
} as const;
const op = (code: number): number[] => simd(code);

// Locals: 0 = n (param), 1 = i, then v128 temporaries.
const N = 0;
const I = 1;
const X = 2;
const A = 3;
const T = 4;
const E = 5;
const O = 6;
const V128_LOCALS = 5;

/** float32 bits in local X → float16 bits in the low half of each i32 lane (left on the stack). */
function encodeLanes(): number[] {
  return [
    ...get(X), ...splat32(0x7fffffff), ...op(OP.and), ...set(A),
    // subnormal result: |x| + 0.5f, minus the bits of 0.5f (hardware round-to-nearest-even)
    ...get(A), ...splat32(0x3f000000), ...op(OP.fadd), ...splat32(0x3f000000), ...op(OP.sub),
    // normal result: rebias, add 0xfff + the lowest kept bit, drop 13 bits
    ...get(A), ...splat32(0xc8000fff), ...op(OP.add), ...get(A), ...i32(13), ...op(OP.shrU), ...splat32(1), ...op(OP.and), ...op(OP.add), ...i32(13), ...op(OP.shrU),
    ...get(A), ...splat32(0x38800000), ...op(OP.ltU),
    ...op(OP.bitselect), ...set(T),
    // overflow to infinity, NaN stays NaN
    ...splat32(0x7e00), ...splat32(0x7c00), ...get(A), ...splat32(0x7f800000), ...op(OP.gtU), ...op(OP.bitselect),
    ...get(T),
    ...get(A), ...splat32(0x47800000), ...op(OP.geU),
    ...op(OP.bitselect),
    // sign
    ...get(X), ...i32(16), ...op(OP.shrU), ...splat32(0x8000), ...op(OP.and), ...op(OP.or),
  ];
}

/** float16 bits (one per i32 lane) in local E → float32 bits (left on the stack). */
function decodeLanes(): number[] {
  return [
    ...get(E), ...splat32(0x7fff), ...op(OP.and), ...i32(13), ...op(OP.shl), ...set(O),
    // exponent field of the shifted value, in T
    ...get(O), ...splat32(0x0f800000), ...op(OP.and), ...set(T),
    ...get(O), ...splat32(0x38000000), ...op(OP.add),
    // Inf/NaN: bump the exponent once more
    ...get(T), ...splat32(0x0f800000), ...op(OP.eq), ...splat32(0x38000000), ...op(OP.and), ...op(OP.add), ...set(O),
    // zero/subnormal: renormalise through a float subtraction
    ...get(O), ...splat32(0x00800000), ...op(OP.add), ...splat32(0x38800000), ...op(OP.fsub),
    ...get(O),
    ...get(T), ...splat32(0), ...op(OP.eq),
    ...op(OP.bitselect),
    ...get(E), ...splat32(0x8000), ...op(OP.and), ...i32(16), ...op(OP.shl), ...op(OP.or),
  ];
}

/** `for (i = 0; i < n; i += step) { body }` */
function loop(step: number, body: number[]): number[] {
  return [
    ...i32(0), ...set(I),
    0x02, 0x40, 0x03, 0x40,
    ...get(I), ...get(N), 0x4e /* i32.ge_s */, 0x0d, 1,
    ...body,
    ...get(I), ...i32(step), 0x6a /* i32.add */, ...set(I),
    0x0c, 0,
    0x0b, 0x0b,
  ];
}

const addr = (shift: number): number[] => [...get(I), ...i32(shift), 0x74 /* i32.shl */];

/** C[i] = f16(A[i]) */
const encodeBody = loop(8, [
  ...addr(1),
  ...addr(2), ...load(A_OFFSET), ...set(X), ...encodeLanes(),
  ...addr(2), ...load(A_OFFSET + 16), ...set(X), ...encodeLanes(),
  ...op(OP.narrowU),
  ...store(C_OFFSET),
]);

/** A[i] = f32(C[i]), or A[i] += f32(C[i]) */
function decodeBody(accumulate: boolean): number[] {
  const half = (extend: number, offset: number): number[] => [
    ...addr(2),
    ...addr(1), ...load(C_OFFSET), ...op(extend), ...set(E),
    ...decodeLanes(),
    ...(accumulate ? [...addr(2), ...load(A_OFFSET + offset), ...op(OP.fadd)] : []),
    ...store(A_OFFSET + offset),
  ];
  return loop(8, [...half(OP.extendLowU, 0), ...half(OP.extendHighU, 16)]);
}

/** A[i] += B[i] */
const add32Body = loop(4, [...addr(2), ...addr(2), ...load(A_OFFSET), ...addr(2), ...load(B_OFFSET), ...op(OP.fadd), ...store(A_OFFSET)]);

function assemble(): Uint8Array {
  const bodies = [encodeBody, decodeBody(false), decodeBody(true), add32Body];
  const names = ['encode', 'decode', 'addDecode', 'add32'];
  const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
  const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
  const name = (text: string): number[] => [...uleb(text.length), ...Array.from(text, (c) => c.charCodeAt(0))];
  const code = bodies.map((body) => {
    const fn = [...uleb(2), 1, 0x7f, V128_LOCALS, 0x7b, ...body, 0x0b];
    return [...uleb(fn.length), ...fn];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 1, 0x7f, 0]])),
    ...section(3, vec(bodies.map(() => [0]))),
    ...section(5, vec([[0x00, ...uleb(MEMORY_PAGES)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], ...names.map((n, index) => [...name(n), 0x00, index])])),
    ...section(10, vec(code)),
  ]);
}

// The project compiles against lib ES2022 without DOM, whose WebAssembly types @types/node 20
// does not provide; declare the little used here (the global exists in every Node version).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
};

interface KernelExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  encode(n: number): void;
  decode(n: number): void;
  addDecode(n: number): void;
  add32(n: number): void;
}

/** The instantiated kernels with views of their scratch memory. */
export interface SimdKernels {
  readonly exports: KernelExports;
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly c: Uint16Array;
}

let kernels: SimdKernels | null | undefined;

/** The kernels, or null where WebAssembly SIMD is unavailable (callers fall back to scalar JS). */
export function simdKernels(): SimdKernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const bytes = assemble();
    const module = new WebAssembly.Module(bytes);
    const exports = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    const memory = exports.memory.buffer;
    kernels = {
      exports,
      a: new Float32Array(memory, A_OFFSET, SIMD_BLOCK_ELEMENTS),
      b: new Float32Array(memory, B_OFFSET, SIMD_BLOCK_ELEMENTS),
      c: new Uint16Array(memory, C_OFFSET, SIMD_BLOCK_ELEMENTS),
    };
  } catch {
    kernels = null;
  }
  return kernels;
}
