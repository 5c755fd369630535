/**
 * `Conv2DBackpropInput` (dx of a convolution) for the wasm backend, built on XNNPACK's
 * forward convolution instead of the backend's scalar C++ loop.
 *
 * dx = correlation of dy — zero-dilated by the stride and padded by (k − 1 − pad) — with the
 * filter rotated by 180° and with its in/out channels swapped. That is a stride-1 forward
 * Conv2D, which XNNPACK runs several times faster than the stock kernel.
 *
 * Two executions of that identity: the phase decomposition (`input-grad-phases.ts`, no
 * multiplications by the inserted zeros; the normal path) and, for geometries it does not
 * cover (forward padding ≥ kernel size), literally building the dilated, padded dy.
 */
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import {
  type BackendWasm,
  WasmKernelError,
  captureWasmKernel,
  heapF32,
  runWasmKernel,
  shape4,
  withTemps,
} from './wasm-kernel-utils.js';
import { inputGradByPhases, phasesSupported, planInputGradPhases } from './input-grad-phases.js';

/** Layout of the zero-dilated, padded dy grid used by the general path. */
export interface InputGradPlan {
  /** Offset of dilated dy inside the padded grid: kh − 1 − padTop (may be negative = crop). */
  offsetTop: number;
  offsetLeft: number;
  /** Size of the padded, dilated dy grid: H + kh − 1 by W + kw − 1 (a 'valid' conv → H × W). */
  gridHeight: number;
  gridWidth: number;
}

/** Derive the dilated-grid layout of dy from the forward geometry. */
export function planInputGrad(convInfo: backend_util.Conv2DInfo): InputGradPlan {
  return {
    offsetTop: convInfo.filterHeight - 1 - convInfo.padInfo.top,
    offsetLeft: convInfo.filterWidth - 1 - convInfo.padInfo.left,
    gridHeight: convInfo.inHeight + convInfo.filterHeight - 1,
    gridWidth: convInfo.inWidth + convInfo.filterWidth - 1,
  };
}

/**
 * Rotate an HWIO filter by 180° in space and swap its channel axes:
 * out[i, j, co, ci] = filter[kh−1−i, kw−1−j, ci, co]. A filter is small (≤ 37k floats in
 * ResNet-20), so a plain loop over the heap is cheaper than two kernel calls.
 */
export function rotateFilter(backend: BackendWasm, filter: TensorInfo): TensorInfo {
  const [kh, kw, cin, cout] = shape4(filter);
  const out = backend.makeOutput([kh, kw, cout, cin], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const srcTap = ((kh - 1 - i) * kw + (kw - 1 - j)) * cin * cout;
      const dstTap = (i * kw + j) * cout * cin;
      for (let ci = 0; ci < cin; ci++) {
        for (let co = 0; co < cout; co++) {
          dst[dstTap + co * cin + ci] = src[srcTap + ci * cout + co] as number;
        }
      }
    }
  }
  return out;
}

/**
 * Scatter dy into a zeroed [N, gridH, gridW, Cout] grid: dy[n, y, x] lands at
 * (offsetTop + s·y, offsetLeft + s·x); rows/columns falling outside are dropped (that is
 * what a negative offset, i.e. forward padding larger than k − 1, means).
 */
export function dilateAndPad(
  backend: BackendWasm,
  dy: TensorInfo,
  plan: InputGradPlan,
  strides: [number, number],
): TensorInfo {
  const [n, ho, wo, c] = shape4(dy);
  const [sh, sw] = strides;
  const { gridHeight: gh, gridWidth: gw, offsetTop, offsetLeft } = plan;
  const out = backend.makeOutput([n, gh, gw, c], 'float32');
  const src = heapF32(backend, dy);
  const dst = heapF32(backend, out);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ho; y++) {
      const r = offsetTop + y * sh;
      if (r < 0 || r >= gh) continue;
      for (let x = 0; x < wo; x++) {
        const q = offsetLeft + x * sw;
        if (q < 0 || q >= gw) continue;
        const from = ((b * ho + y) * wo + x) * c;
        dst.set(src.subarray(from, from + c), ((b * gh + r) * gw + q) * c);
      }
    }
  }
  return out;
}

/**
 * Kernel function: inputs `{dy, filter}`, attrs {@link Conv2DBackpropInputAttrs}; returns dx
 * with shape `inputShape`. NCHW goes to the stock kernel (correct, slower), since the wasm
 * forward Conv2D does not support it anyway.
 */
export function conv2DBackpropInputWasm(args: {
  inputs: NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  if (dy === undefined || filter === undefined) throw new WasmKernelError(Conv2DBackpropInput, 'inputs dy and filter are required');
  if (attrs.dataFormat === 'NCHW' || dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    const stock = captureWasmKernel(Conv2DBackpropInput)({ inputs, backend, attrs: attrs as unknown as Record<string, never> });
    if (Array.isArray(stock)) throw new WasmKernelError(Conv2DBackpropInput, 'stock kernel returned several outputs');
    return stock;
  }
  const convInfo = backend_util.computeConv2DInfo(
    attrs.inputShape,
    shape4(filter),
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const usePhases = inputStrategy !== 'dilation' && phasesSupported(planInputGradPhases(convInfo));
  return usePhases ? inputGradByPhases(backend, dy, filter, convInfo) : inputGradByDilation(backend, dy, filter, convInfo);
}

/** Which dx algorithm runs; `auto` = phases whenever they apply. */
export type InputGradStrategy = 'auto' | 'dilation';

let inputStrategy: InputGradStrategy = 'auto';

/** Force the general zero-dilation path (benchmarks and tests); `auto` restores the default. */
export function setInputGradStrategy(strategy: InputGradStrategy): void {
  inputStrategy = strategy;
}

/** dx by correlating the literally zero-dilated, padded dy (any geometry; the fallback). */
export function inputGradByDilation(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, convInfo: backend_util.Conv2DInfo): TensorInfo {
  const plan = planInputGrad(convInfo);
  return withTemps(backend, (temps) => {
    const rotated = rotateFilter(backend, filter);
    temps.push(rotated);
    const grid = dilateAndPad(backend, dy, plan, [convInfo.strideHeight, convInfo.strideWidth]);
    temps.push(grid);
    const dx = runWasmKernel('Conv2D', backend, { x: grid, filter: rotated }, { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1] });
    const [, h, w] = shape4(dx);
    if (h !== convInfo.inHeight || w !== convInfo.inWidth) {
      backend.disposeData(dx.dataId);
      throw new WasmKernelError(Conv2DBackpropInput, `internal: got ${h}×${w}, expected ${convInfo.inHeight}×${convInfo.inWidth}`);
    }
    return dx;
  });
}

/** Registry entry; see `register-wasm-kernels.ts`. */
export const conv2DBackpropInputWasmConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as unknown as KernelFunc,
};
