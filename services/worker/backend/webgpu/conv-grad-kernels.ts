/**
 * The convolution-gradient kernels of the `webgpu` backend, as implicit GEMMs (conv-gemm-wgsl.ts):
 * - `Conv2DBackpropFilter`: tfjs-backend-webgpu's stock kernel gives each filter element one thread
 *   that loops over the whole batch (208 ms for a 512×32×32×16→16 3×3 layer on an H200, against
 *   7.9 ms as im2col + one matMul — GPU-NOTES.md). Ours is one tiled GEMM with a split reduction
 *   and a summing pass: two dispatches, no im2col buffer.
 * - `Conv2DBackpropInput`: the stock default (`WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE` is true in 4.22)
 *   is a direct loop without workgroup tiling; ours is a tiled GEMM over (taps × output channels).
 * - `EncourageConv2DBackpropInputAdd`: the same plus an addend, so that where a tensor feeds two
 *   layers (a residual block's input) the second gradient is summed in the GEMM's epilogue instead
 *   of by an extra `Add` (the fused training path uses it).
 * NCHW falls back to the stock kernels (the models are NHWC).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ConvGeometry } from './conv-gemm-wgsl.js';
import { chooseTiles, filterGradSplit, filterGradWgsl, splitSumWgsl, tilesKey } from './conv-gemm-wgsl.js';
import { inputGradPhases, inputGradWgsl } from './input-grad-wgsl.js';
import { allocate, backendInternals, dispatch, grid, release, type ProgramSpec } from './program-runner.js';

/** Kernel name of dx + addend (same attributes as Conv2DBackpropInput, an extra input `addend`). */
export const CONV2D_BACKPROP_INPUT_ADD = 'EncourageConv2DBackpropInputAdd';

/**
 * Split dW's reduction until about this many workgroups run (an H200 has 132 SMs; a few
 * workgroups each keep them busy), but never into slices under {@link MIN_SPLIT_POSITIONS}.
 */
const TARGET_WORKGROUPS = 528;
const MIN_SPLIT_POSITIONS = 512;

/** The attributes tfjs passes to Conv2D and its gradients. */
export type ConvAttrs = {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

/** NHWC geometry of a stride/pad convolution (dilation 1) as tfjs computes it. */
export function convGeometry(xShape: readonly number[], filterShape: readonly number[], attrs: ConvAttrs): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize, inHeight: info.inHeight, inWidth: info.inWidth, inChannels: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth, outChannels: info.outChannels,
    filterHeight: info.filterHeight, filterWidth: info.filterWidth, strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    padTop: info.padInfo.top, padLeft: info.padInfo.left,
  };
}

/** The geometry as part of a pipeline key. */
export function geometryKey(g: ConvGeometry): string {
  return Object.values(g).join('x');
}

/**
 * How dx is computed: our GEMM, or tfjs's stock direct kernel (a loop per output element without
 * workgroup tiling). On an H200 the GEMM is 3.2× faster (34 against 108 ms of a ResNet-18 batch-512
 * step, docs/performance.md); on lavapipe the stock loop is 1–2× faster (a CPU caches what a GPU must
 * tile). The GEMM is the default; `ENCOURAGE_WEBGPU_DX=stock` (`profile-train-step --dx stock`) is
 * kept for GPUs where that may differ.
 */
export type InputGradAlgorithm = 'gemm' | 'stock';
let inputGradAlgorithm: InputGradAlgorithm = 'gemm';

/** Choose dx's algorithm (see {@link InputGradAlgorithm}). */
export function setInputGradAlgorithm(algorithm: InputGradAlgorithm): void {
  inputGradAlgorithm = algorithm;
}

/** Stock kernels, captured before ours replace them (fallbacks and the profiler's "before"). */
const stock = new Map<string, tf.KernelFunc>();

/**
 * Remember the stock webgpu kernel `name` (once, and only if what is registered is not `ours`) so
 * that ours can fall back to it.
 */
export function captureStockConvKernel(name: 'Conv2D' | 'Conv2DBackpropFilter' | 'Conv2DBackpropInput', ours: tf.KernelFunc): void {
  if (stock.has(name)) return;
  const config = tf.getKernel(name, 'webgpu');
  if (config !== undefined && config.kernelFunc !== ours) stock.set(name, config.kernelFunc);
}

/** Run the captured stock kernel `name` (NCHW, dilations, or the stock choice of a switch). */
export function fallback(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const f = stock.get(name);
  if (f === undefined) throw new Error(`${name} on webgpu: this case needs the stock kernel, which was not captured`);
  return f(args) as tf.TensorInfo;
}

/** dW for NHWC: split-K GEMM + summing pass (one pass when the reduction is not split). */
export const conv2DBackpropFilterWebGpu: tf.KernelFunc = (args) => {
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
  if (attrs.dataFormat !== 'NHWC') return fallback('Conv2DBackpropFilter', args);
  const backend = backendInternals(args.backend);
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const g = convGeometry(x.shape, attrs.filterShape, attrs);
  const { splits, chunk } = filterGradSplit(g, TARGET_WORKGROUPS, MIN_SPLIT_POSITIONS);
  const rows = g.filterHeight * g.filterWidth * g.inChannels;
  const tiles = chooseTiles(rows, g.outChannels);
  const size = rows * g.outChannels;
  const gemm: ProgramSpec = { key: `dW-${geometryKey(g)}-${chunk}-${tilesKey(tiles)}`, wgsl: () => filterGradWgsl(g, chunk), writes: 1, reads: 2, uniform: false, label: 'EncourageFilterGradGemm' };
  const workgroups: [number, number, number] = [Math.ceil(g.outChannels / tiles.tn), Math.ceil(rows / tiles.tm), splits];
  const out = allocate(backend, [...attrs.filterShape]);
  if (splits === 1) {
    dispatch(backend, gemm, [out], [x, dy], workgroups);
    return out;
  }
  const partial = allocate(backend, [splits, size]);
  dispatch(backend, gemm, [partial], [x, dy], workgroups);
  const sum: ProgramSpec = { key: `splitsum-${size}-${splits}`, wgsl: () => splitSumWgsl(size, splits), writes: 1, reads: 1, uniform: false, label: 'EncourageSplitSum' };
  dispatch(backend, sum, [out], [partial], grid(Math.ceil(size / 256), backend.device.limits.maxComputeWorkgroupsPerDimension));
  release(backend, partial);
  return out;
};

function inputGrad(args: Parameters<tf.KernelFunc>[0], addend: tf.TensorInfo | null): tf.TensorInfo {
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
  const backend = backendInternals(args.backend);
  const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const g = convGeometry(attrs.inputShape, filter.shape, attrs);
  const tiles = chooseTiles(g.batch * g.inHeight * g.inWidth, g.inChannels);
  const spec: ProgramSpec = {
    key: `dx-${geometryKey(g)}-${addend !== null}-${tilesKey(tiles)}`, wgsl: () => inputGradWgsl(g, addend !== null), writes: 1, reads: addend === null ? 2 : 3, uniform: false,
    label: addend === null ? 'EncourageInputGradGemm' : 'EncourageInputGradGemmAdd',
  };
  const out = allocate(backend, [...attrs.inputShape]);
  dispatch(backend, spec, [out], addend === null ? [dy, filter] : [dy, filter, addend], [Math.ceil(g.inChannels / tiles.tn), inputGradPhases(g).workgroupsY, 1]);
  return out;
}

/** dx for NHWC as a tiled GEMM. */
export const conv2DBackpropInputWebGpu: tf.KernelFunc = (args) => {
  if ((args.attrs as unknown as ConvAttrs).dataFormat !== 'NHWC' || inputGradAlgorithm === 'stock') return fallback('Conv2DBackpropInput', args);
  return inputGrad(args, null);
};

/** dx + addend (NHWC only): the gradient a tensor receives from a convolution plus what it already had. */
export const conv2DBackpropInputAddWebGpu: tf.KernelFunc = (args) => {
  if ((args.attrs as unknown as ConvAttrs).dataFormat !== 'NHWC') throw new Error(`${CONV2D_BACKPROP_INPUT_ADD} supports NHWC only`);
  const { dy, filter, addend } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo; addend: tf.TensorInfo };
  if (inputGradAlgorithm === 'gemm') return inputGrad(args, addend);
  const add = tf.getKernel('Add', 'webgpu');
  if (add === undefined) throw new Error('the webgpu backend has no Add kernel');
  const dx = fallback('Conv2DBackpropInput', { ...args, inputs: { dy, filter } });
  try {
    return add.kernelFunc({ inputs: { a: dx, b: addend }, backend: args.backend, attrs: {} }) as tf.TensorInfo;
  } finally {
    backendInternals(args.backend).disposeData(dx.dataId);
  }
};

/**
 * cpu version of {@link CONV2D_BACKPROP_INPUT_ADD} from the cpu backend's own kernels (the kernel
 * audit reruns every webgpu kernel on cpu; this makes the fused one comparable).
 */
export const conv2DBackpropInputAddCpu: tf.KernelFunc = (args) => {
  const dxKernel = tf.getKernel('Conv2DBackpropInput', 'cpu');
  const addKernel = tf.getKernel('Add', 'cpu');
  if (dxKernel === undefined || addKernel === undefined) throw new Error('the cpu backend has no Conv2DBackpropInput/Add kernel');
  const { dy, filter, addend } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo; addend: tf.TensorInfo };
  const dx = dxKernel.kernelFunc({ inputs: { dy, filter }, backend: args.backend, attrs: args.attrs }) as tf.TensorInfo;
  try {
    return addKernel.kernelFunc({ inputs: { a: dx, b: addend }, backend: args.backend, attrs: {} }) as tf.TensorInfo;
  } finally {
    (args.backend as { disposeData(id: object): void }).disposeData(dx.dataId);
  }
};
