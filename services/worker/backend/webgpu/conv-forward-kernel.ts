/**
 * `Conv2D` of the `webgpu` backend as one implicit GEMM on the tiled template of
 * conv-gemm-wgsl.ts (the same one the gradients use):
 *   y[n, oh, ow, co] = Σ_{kh, kw, ci} x[n, oh·SH − PT + kh, ow·SW − PL + kw, ci] · W[kh, kw, ci, co]
 * rows (n, oh, ow), columns co, reduction (kh, kw, ci); A is gathered from x with the padding as
 * zeros, B is W itself (row-major [kh·kw·ci, co], so consecutive columns are adjacent in memory).
 * On an H200 tfjs-webgpu's own `Conv2DMMProgram` was a third of a ResNet-18 step's GPU time
 * (docs/performance.md); this kernel replaces it where the models need it (NHWC, dilation 1) and
 * falls back to it otherwise, or when {@link setConvForwardAlgorithm} (`ENCOURAGE_WEBGPU_CONV=stock`) asks for it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { chooseTiles, gemmKernel, geometryConstants, tilesKey, type ConvGeometry, type GemmOperands } from './conv-gemm-wgsl.js';
import { convGeometry, fallback, geometryKey, type ConvAttrs } from './conv-grad-kernels.js';
import { allocate, backendInternals, dispatch, type ProgramSpec } from './program-runner.js';

/** Our GEMM or tfjs's stock kernel for the forward convolution. */
export type ConvForwardAlgorithm = 'gemm' | 'stock';
let algorithm: ConvForwardAlgorithm = 'gemm';

/** Choose the forward convolution's algorithm (see {@link ConvForwardAlgorithm}). */
export function setConvForwardAlgorithm(next: ConvForwardAlgorithm): void {
  algorithm = next;
}

/** WGSL of y = conv2d(x, W): bindings `out` (write), `x`, `w` (read); dispatch [ceil(CO / tn), ceil(rows / tm), 1]. */
export function convForwardWgsl(g: ConvGeometry): string {
  const rows = g.batch * g.outHeight * g.outWidth;
  const tiles = chooseTiles(rows, g.outChannels);
  const ops: GemmOperands = {
    loadA: `${geometryConstants(g)}
fn loadA(i: u32, r: u32) -> f32 {
  let n = i / u32(HO * WO);
  let s = i % u32(HO * WO);
  let kh = i32(r / (KW * CI));
  let t = r % (KW * CI);
  let ih = i32(s / u32(WO)) * SH - PT + kh;
  let iw = i32(s % u32(WO)) * SW - PL + i32(t / CI);
  if (ih < 0 || ih >= H_ || iw < 0 || iw >= W_) { return 0.0; }
  return x[((n * u32(H_) + u32(ih)) * u32(W_) + u32(iw)) * CI + t % CI];
}`,
    loadB: 'fn loadB(r: u32, j: u32) -> f32 { return w[r * CO + j]; }',
    aContiguousInR: g.inChannels > 1,
    bContiguousInJ: true,
  };
  const bindings = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;`;
  const reduce = g.filterHeight * g.filterWidth * g.inChannels;
  return gemmKernel({ rows, cols: g.outChannels, reduce, chunk: reduce }, tiles, ops, bindings);
}

function dilated(attrs: { dilations?: number | [number, number] }): boolean {
  const d = attrs.dilations;
  return d !== undefined && (Array.isArray(d) ? d.some((v) => v !== 1) : d !== 1);
}

/** Conv2D for NHWC with dilation 1 as one GEMM dispatch; everything else goes to the stock kernel. */
export const conv2DWebGpu: tf.KernelFunc = (args) => {
  const attrs = args.attrs as unknown as ConvAttrs & { dilations?: number | [number, number] };
  const { x, filter } = args.inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
  if (attrs.dataFormat !== 'NHWC' || dilated(attrs) || algorithm === 'stock' || x.dtype !== 'float32') return fallback('Conv2D', args);
  const backend = backendInternals(args.backend);
  const g = convGeometry(x.shape, filter.shape, attrs);
  const rows = g.batch * g.outHeight * g.outWidth;
  const tiles = chooseTiles(rows, g.outChannels);
  // One workgroup row per row tile: beyond the device's grid limit the stock kernel takes over.
  if (Math.ceil(rows / tiles.tm) > backend.device.limits.maxComputeWorkgroupsPerDimension) return fallback('Conv2D', args);
  const spec: ProgramSpec = { key: `conv-${geometryKey(g)}-${tilesKey(tiles)}`, wgsl: () => convForwardWgsl(g), writes: 1, reads: 2, uniform: false, label: 'EncourageConv2DGemm' };
  const out = allocate(backend, [g.batch, g.outHeight, g.outWidth, g.outChannels]);
  dispatch(backend, spec, [out], [x, filter], [Math.ceil(g.outChannels / tiles.tn), Math.ceil(rows / tiles.tm), 1]);
  return out;
};
