/**
 * `Conv2DBackpropFilter` for the wasm backend, which ships none.
 *
 * dW[i, j, ci, co] = Σ_{n, y, x} xPad[n, s·y + i, s·x + j, ci] · dy[n, y, x, co]
 *
 * Two XNNPACK formulations, chosen per shape:
 * - conv: read with the channels of x as the *batch* and the batch as the *channels*, dW is a
 *   forward convolution of xᵀ = [Cin, H, W, N] with dyᵀ = [Ho, Wo, N, Cout] as the filter,
 *   dilation = the forward stride, stride 1, giving [Cin, kh, kw, Cout] (XNNPACK supports
 *   dilation). Works for every NHWC geometry; the fallback.
 * - gemm: one matrix product per tap over shifted views of x (see `filter-grad-gemm.ts`);
 *   much faster for strided and 1×1 convolutions, where the conv formulation degenerates.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { filterGradByGemm, planGemmFilterGrad } from './filter-grad-gemm.js';
import {
  type BackendWasm,
  WasmKernelError,
  channelsToBatch,
  runWasmKernel,
  shape4,
  supportsHeapViews,
  transposeInfo,
  withTemps,
} from './wasm-kernel-utils.js';

/** Geometry of the filter-gradient convolution, derived from the forward conv. */
export interface FilterGradPlan {
  /** Rows/columns of x actually read by the forward conv (x is cropped to this). */
  usedHeight: number;
  usedWidth: number;
  /** Explicit padding of the [Cin, H, W, N] input: top, bottom, left, right (all ≥ 0). */
  pad: [number, number, number, number];
  /** Dilation of the dy-as-filter = forward strides. */
  dilation: [number, number];
}

/**
 * Work out padding and cropping so that the dilated-dy convolution yields exactly kh × kw.
 *
 * The forward conv reads padded rows 0 … (Ho−1)·s + kh − 1, i.e. x rows up to
 * (Ho−1)·s + kh − 1 − pt. The bottom padding that makes the output exactly kh rows tall is
 * therefore pb = (Ho−1)·s + kh − H − pt; when that is negative the forward conv never read
 * the last −pb rows of x ('valid' with a leftover), so we crop them instead of padding.
 */
export function planFilterGrad(convInfo: backend_util.Conv2DInfo): FilterGradPlan {
  const { inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = convInfo;
  const top = convInfo.padInfo.top;
  const left = convInfo.padInfo.left;
  const bottom = (outHeight - 1) * strideHeight + filterHeight - inHeight - top;
  const right = (outWidth - 1) * strideWidth + filterWidth - inWidth - left;
  return {
    usedHeight: bottom < 0 ? inHeight + bottom : inHeight,
    usedWidth: right < 0 ? inWidth + right : inWidth,
    pad: [top, Math.max(bottom, 0), left, Math.max(right, 0)],
    dilation: [strideHeight, strideWidth],
  };
}

/** Which algorithm computes dW; `auto` picks per shape (see {@link chooseFilterGradStrategy}). */
export type FilterGradStrategy = 'auto' | 'gemm' | 'conv';

let strategyOverride: FilterGradStrategy = 'auto';

/** Force one algorithm (benchmarks and tests); `auto` restores the per-shape choice. */
export function setFilterGradStrategy(strategy: FilterGradStrategy): void {
  strategyOverride = strategy;
}

/**
 * Pick the dW algorithm for a shape. The shifted-GEMM method wins clearly for strided and
 * 1×1 convolutions (where XNNPACK's dilated convolution degenerates to tiny GEMM tiles) and
 * roughly ties for stride-1 3×3; its grids waste (Hq·Wq)/(Ho·Wo) − 1 of the work on zeros,
 * which on small maps (8×8 → 10×10, +56%) tips the balance to the convolution.
 */
export function chooseFilterGradStrategy(convInfo: backend_util.Conv2DInfo, backend: BackendWasm): 'gemm' | 'conv' {
  if (!supportsHeapViews(backend)) return 'conv';
  if (strategyOverride !== 'auto') return strategyOverride;
  const plan = planGemmFilterGrad(convInfo);
  const waste = (plan.gridHeight * plan.gridWidth) / (convInfo.outHeight * convInfo.outWidth);
  const strided = convInfo.strideHeight > 1 || convInfo.strideWidth > 1;
  const pointwise = convInfo.filterHeight === 1 && convInfo.filterWidth === 1;
  return strided || pointwise || waste < GEMM_MAX_WASTE ? 'gemm' : 'conv';
}

/** Above this grid-to-output area ratio the stride-1 GEMM method loses to the convolution. */
const GEMM_MAX_WASTE = 1.3;

/** dW by one dilated forward convolution (any NHWC geometry; the fallback path). */
export function filterGradByConv(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, convInfo: backend_util.Conv2DInfo): TensorInfo {
  const plan = planFilterGrad(convInfo);
  const [n, h, w, cin] = shape4(x);
  return withTemps(backend, (temps) => {
    let xUsed = x;
    if (plan.usedHeight !== h || plan.usedWidth !== w) {
      xUsed = runWasmKernel('Slice', backend, { x }, { begin: [0, 0, 0, 0], size: [n, plan.usedHeight, plan.usedWidth, cin] });
      temps.push(xUsed);
    }
    const xT = channelsToBatch(backend, xUsed); // [Cin, H', W', N]
    temps.push(xT);
    const dyT = transposeInfo(backend, dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout]
    temps.push(dyT);
    const [top, bottom, left, right] = plan.pad;
    const grad = runWasmKernel(
      'Conv2D',
      backend,
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: plan.dilation,
      },
    ); // [Cin, kh, kw, Cout]
    temps.push(grad);
    const [, kh, kw] = shape4(grad);
    if (kh !== convInfo.filterHeight || kw !== convInfo.filterWidth) {
      throw new WasmKernelError(
        Conv2DBackpropFilter,
        `internal: gradient conv gave ${kh}×${kw}, expected ${convInfo.filterHeight}×${convInfo.filterWidth}`,
      );
    }
    return transposeInfo(backend, grad, [1, 2, 0, 3]); // [kh, kw, Cin, Cout]
  });
}

/**
 * Kernel function: inputs `{x, dy}`, attrs {@link Conv2DBackpropFilterAttrs}; returns dW with
 * shape `filterShape` (HWIO). NCHW inputs are transposed to NHWC first.
 */
export function conv2DBackpropFilterWasm(args: {
  inputs: NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  if (x === undefined || dy === undefined) throw new WasmKernelError(Conv2DBackpropFilter, 'inputs x and dy are required');
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new WasmKernelError(Conv2DBackpropFilter, `only float32 is supported, got ${x.dtype}/${dy.dtype}`);
  }
  return withTemps(backend, (temps) => {
    let xNhwc = x;
    let dyNhwc = dy;
    if (attrs.dataFormat === 'NCHW') {
      // The forward wasm Conv2D rejects NCHW, but the gradient should not be the place that
      // fails: two transposes are cheap next to the convolution.
      xNhwc = transposeInfo(backend, x, [0, 2, 3, 1]);
      temps.push(xNhwc);
      dyNhwc = transposeInfo(backend, dy, [0, 2, 3, 1]);
      temps.push(dyNhwc);
    }
    const convInfo = backend_util.computeConv2DInfo(
      shape4(xNhwc),
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const [dyBatch, dyHeight, dyWidth, dyChannels] = shape4(dyNhwc);
    if (
      dyBatch !== convInfo.batchSize ||
      dyHeight !== convInfo.outHeight ||
      dyWidth !== convInfo.outWidth ||
      dyChannels !== convInfo.outChannels
    ) {
      throw new WasmKernelError(
        Conv2DBackpropFilter,
        `dy has shape [${dyNhwc.shape.join(', ')}] but the convolution produces [${convInfo.outShape.join(', ')}]`,
      );
    }
    return chooseFilterGradStrategy(convInfo, backend) === 'gemm'
      ? filterGradByGemm(backend, xNhwc, dyNhwc, convInfo)
      : filterGradByConv(backend, xNhwc, dyNhwc, convInfo);
  });
}

/** Registry entry; see `register-wasm-kernels.ts`. */
export const conv2DBackpropFilterWasmConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as unknown as KernelFunc,
};
