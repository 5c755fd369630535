/**
 * Small toolkit for writing wasm-backend kernels *out of other wasm kernels*.
 *
 * Why this exists: a kernelFunc runs inside the engine's bookkeeping, so calling tf ops
 * (`tf.tensor`, `tf.conv2d`, …) from it re-enters the engine and, for gradients, recursed
 * endlessly in a prototype. Everything here therefore works on raw `TensorInfo`s: it invokes
 * the kernel functions the wasm backend registered (captured once, before we replace any)
 * and frees every intermediate with `backend.disposeData`.
 */
import { getKernel, type NamedAttrMap, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EncourageError } from '../../core/errors.js';

export type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The signature of a kernel function once the backend type is known. */
export type WasmKernelFunc = (args: { inputs: NamedTensorInfoMap; backend: BackendWasm; attrs?: NamedAttrMap }) => TensorInfo | TensorInfo[];

/** A wasm kernel we rely on is missing or misbehaved (wrong package version, not initialised). */
export class WasmKernelError extends EncourageError {
  override readonly name = 'WasmKernelError';
  constructor(
    /** Name of the kernel that was being called or composed. */
    readonly kernelName: string,
    message: string,
  ) {
    super(`wasm kernel ${kernelName}: ${message}`);
  }
}

/**
 * Kernel functions captured from the wasm registry the first time they are asked for.
 * Capturing matters for the kernels we replace: once our version is registered,
 * `getKernel` would return *ours*, and a fallback would call itself.
 */
const captured = new Map<string, WasmKernelFunc>();

/**
 * Return the wasm backend's own kernel function for `kernelName`, capturing it on first use.
 * Call {@link captureWasmKernel} for every kernel you are about to replace *before* replacing it.
 */
export function captureWasmKernel(kernelName: string): WasmKernelFunc {
  const known = captured.get(kernelName);
  if (known !== undefined) return known;
  const config = getKernel(kernelName, 'wasm');
  if (config === undefined) {
    throw new WasmKernelError(kernelName, 'not registered for backend wasm (is @tensorflow/tfjs-backend-wasm imported?)');
  }
  const func = config.kernelFunc as unknown as WasmKernelFunc;
  captured.set(kernelName, func);
  return func;
}

/** Whether the wasm backend shipped a kernel of this name (ours excluded once captured). */
export function hasOriginalWasmKernel(kernelName: string): boolean {
  return captured.has(kernelName) || getKernel(kernelName, 'wasm') !== undefined;
}

/** Run one of the backend's own kernels on raw tensor infos and return its single output. */
export function runWasmKernel(
  kernelName: string,
  backend: BackendWasm,
  inputs: NamedTensorInfoMap,
  attrs: object = {},
): TensorInfo {
  // Attribute objects (explicit paddings, optional fields) do not fit NamedAttrMap's index
  // signature; the kernels read them by name, so the cast is only for the type checker.
  const out = captureWasmKernel(kernelName)({ inputs, backend, attrs: attrs as NamedAttrMap });
  if (Array.isArray(out)) {
    // None of the kernels we compose return several outputs; free them rather than leak.
    for (const info of out) backend.disposeData(info.dataId);
    throw new WasmKernelError(kernelName, `expected one output, got ${out.length}`);
  }
  return out;
}

/** Transpose with the backend's (C++) Transpose kernel. */
export function transposeInfo(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel('Transpose', backend, { x }, { perm });
}

/**
 * `[N, H, W, C]` → `[C, H, W, N]`.
 *
 * Why two steps: the generic N-d transpose moves single floats with a large stride in both
 * directions; a 2-d transpose `[N, HWC]→[HWC, N]` followed by `[HW, C, N]→[C, HW, N]`
 * (which moves contiguous runs of N floats) measured ~3× faster for CIFAR-sized tensors.
 */
export function channelsToBatch(backend: BackendWasm, x: TensorInfo): TensorInfo {
  const [n, h, w, c] = shape4(x);
  const step1 = transposeInfo(backend, { ...x, shape: [n, h * w * c] }, [1, 0]);
  try {
    const step2 = transposeInfo(backend, { ...step1, shape: [h * w, c, n] }, [1, 0, 2]);
    return { ...step2, shape: [c, h, w, n] };
  } finally {
    backend.disposeData(step1.dataId);
  }
}

/**
 * A float32 view of a tensor's memory on the wasm heap.
 *
 * Views are invalidated when the heap grows, i.e. by any later `makeOutput`/kernel call:
 * take them only after all allocations of the current step.
 */
export function heapF32(backend: BackendWasm, info: TensorInfo): Float32Array {
  const view = backend.typedArrayFromHeap(info);
  if (!(view instanceof Float32Array)) {
    throw new WasmKernelError('heap', `expected float32 data, got ${info.dtype}`);
  }
  return view;
}

/** The four dimensions of a rank-4 shape, checked. */
export function shape4(info: { shape: number[] }): [number, number, number, number] {
  const [a, b, c, d] = info.shape;
  if (info.shape.length !== 4 || a === undefined || b === undefined || c === undefined || d === undefined) {
    throw new WasmKernelError('shape', `expected a rank-4 tensor, got shape [${info.shape.join(', ')}]`);
  }
  return [a, b, c, d];
}

/**
 * Run `body` and free every info listed in `temps` afterwards, even when it throws.
 * `temps` is filled by the body as it allocates intermediates.
 */
export function withTemps<T>(backend: BackendWasm, body: (temps: TensorInfo[]) => T): T {
  const temps: TensorInfo[] = [];
  try {
    return body(temps);
  } finally {
    for (const info of temps) backend.disposeData(info.dataId);
  }
}

/**
 * A tensor info that *aliases* `count` elements of `base` starting `offsetElements` in, without
 * copying. The GEMM-based gradients use it to hand XNNPACK shifted windows of one buffer.
 *
 * This relies on two documented-in-code details of the 4.22 wasm backend: `makeOutput` with a
 * `memoryOffset` only records the pointer, and the C++ side keys tensors by integer id. Such a
 * view must be released with {@link releaseHeapView}, never `disposeData` (which would `free`
 * an interior pointer). Check {@link supportsHeapViews} before relying on it.
 */
export function heapView(backend: BackendWasm, base: TensorInfo, offsetElements: number, shape: number[]): TensorInfo {
  const data = backend.dataIdMap.get(base.dataId);
  if (data === undefined) throw new WasmKernelError('heapView', 'base tensor is not on the wasm heap');
  if (base.dtype !== 'float32') throw new WasmKernelError('heapView', `only float32 views are supported, got ${base.dtype}`);
  const size = shape.reduce((a, b) => a * b, 1);
  const baseSize = base.shape.reduce((a, b) => a * b, 1);
  if (offsetElements < 0 || offsetElements + size > baseSize) {
    throw new WasmKernelError('heapView', `window [${offsetElements}, ${offsetElements + size}) exceeds ${baseSize} elements`);
  }
  return backend.makeOutput(shape, base.dtype, data.memoryOffset + offsetElements * 4);
}

/** Forget a view made by {@link heapView}: unregister it from C++ (running its disposal hooks) without freeing memory. */
export function releaseHeapView(backend: BackendWasm, view: TensorInfo): void {
  const data = backend.dataIdMap.get(view.dataId);
  if (data === undefined) return;
  backend.wasm.tfjs.disposeData(data.id);
  backend.dataIdMap.delete(view.dataId);
}

/** Whether this wasm backend exposes the internals {@link heapView} needs. */
export function supportsHeapViews(backend: BackendWasm): boolean {
  const internals = backend as unknown as {
    dataIdMap?: { get?: unknown; delete?: unknown };
    wasm?: { tfjs?: { disposeData?: unknown; registerTensor?: unknown } };
  };
  return (
    typeof internals.dataIdMap?.get === 'function' &&
    typeof internals.dataIdMap.delete === 'function' &&
    typeof internals.wasm?.tfjs?.disposeData === 'function' &&
    typeof internals.wasm.tfjs.registerTensor === 'function'
  );
}
