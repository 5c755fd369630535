/**
 * Host references for the kernel audit where comparing with TensorFlow.js's own `cpu` kernel does
 * not work for whole steps:
 * - `Conv2DBackpropFilter`: the cpu kernel walks its loops in an order that takes ~100 s for one
 *   ResNet-18 step at batch 1 (measured), against ~1 s for the same sums with the output channel
 *   innermost. Accumulation is in float64, so the reference is at least as accurate as the kernel
 *   it replaces (checked against it in reference-kernels.test.ts).
 * - `MaxPoolGrad`: where a pooling window has several maxima (ReLU's zeros make that common), any
 *   of them is a valid subgradient and backends pick different ones (cpu the first, webgpu another);
 *   the reference accepts any choice among the tied maxima instead of the cpu's.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Inputs and attributes of a recorded kernel call, values already on the host. */
export interface ReferenceCall {
  readonly inputs: ReadonlyMap<string, { readonly shape: readonly number[]; readonly values: ArrayLike<number> }>;
  readonly attrs: tf.NamedAttrMap;
}

/**
 * A host implementation of one kernel: its single output's values (compared elementwise), or a
 * `verify` that returns the output's relative error by a criterion of its own; null when it does
 * not cover these attributes (the audit then uses the cpu kernel).
 */
export type ReferenceKernel = (
  call: ReferenceCall,
) => { shape: number[]; values: Float32Array } | { shape: number[]; verify: (out: ArrayLike<number>) => number } | null;

/**
 * dW[kh, kw, ci, co] = Σ_{n, oh, ow} x[n, oh·sh + kh − top, ow·sw + kw − left, ci] · dy[n, oh, ow, co]
 * (NHWC, no dilation: what Conv2DBackpropFilter computes for `tf.conv2d`'s gradient).
 */
export const conv2dBackpropFilterReference: ReferenceKernel = ({ inputs, attrs }) => {
  const x = inputs.get('x');
  const dy = inputs.get('dy');
  if (x === undefined || dy === undefined || attrs['dataFormat'] !== 'NHWC') return null;
  const filterShape = attrs['filterShape'] as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs['strides'] as [number, number],
    1,
    attrs['pad'] as 'same' | 'valid' | number,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  const [batch, height, width, inC] = x.shape as [number, number, number, number];
  const [kH, kW, , outC] = filterShape;
  const { outHeight, outWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(kH * kW * inC * outC);
  const xv = x.values;
  const dv = dy.values;
  for (let n = 0; n < batch; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const dyBase = ((n * outHeight + oh) * outWidth + ow) * outC;
        for (let kh = 0; kh < kH; kh++) {
          const ih = oh * strideHeight + kh - top;
          if (ih < 0 || ih >= height) continue;
          for (let kw = 0; kw < kW; kw++) {
            const iw = ow * strideWidth + kw - left;
            if (iw < 0 || iw >= width) continue;
            const xBase = ((n * height + ih) * width + iw) * inC;
            const wBase = (kh * kW + kw) * inC * outC;
            for (let ci = 0; ci < inC; ci++) {
              const a = xv[xBase + ci]!;
              if (a === 0) continue;
              const row = wBase + ci * outC;
              for (let co = 0; co < outC; co++) acc[row + co]! += a * dv[dyBase + co]!;
            }
          }
        }
      }
    }
  }
  return { shape: [...filterShape], values: Float32Array.from(acc) };
};

/**
 * MaxPoolGrad over non-overlapping windows (stride ≥ window, NHWC): every window's dy must land in
 * full on its maxima, and nowhere else; how it is shared among tied maxima is free.
 * @returns verify() → max over windows of |Σ dx − dy| and |dx off the maxima|, over max |dy|.
 */
export const maxPoolGradReference: ReferenceKernel = ({ inputs, attrs }) => {
  const x = inputs.get('input');
  const dy = inputs.get('dy');
  if (x === undefined || dy === undefined) return null;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs['filterSize'] as [number, number] | number,
    attrs['strides'] as [number, number] | number,
    1,
    attrs['pad'] as 'same' | 'valid' | number,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
  );
  if (info.strideHeight < info.filterHeight || info.strideWidth < info.filterWidth) return null;
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const at = (n: number, h: number, w: number, c: number) => ((n * height + h) * width + w) * channels + c;
  return {
    shape: [...x.shape],
    verify: (out) => {
      let scale = 0;
      for (let i = 0; i < dy.values.length; i++) scale = Math.max(scale, Math.abs(dy.values[i]!));
      const covered = new Uint8Array(out.length);
      let worst = 0;
      for (let n = 0; n < batch; n++) {
        for (let oh = 0; oh < info.outHeight; oh++) {
          for (let ow = 0; ow < info.outWidth; ow++) {
            for (let c = 0; c < channels; c++) {
              const cells: number[] = [];
              for (let fh = 0; fh < info.filterHeight; fh++) {
                for (let fw = 0; fw < info.filterWidth; fw++) {
                  const h = oh * info.strideHeight + fh - info.padInfo.top;
                  const w = ow * info.strideWidth + fw - info.padInfo.left;
                  if (h >= 0 && h < height && w >= 0 && w < width) cells.push(at(n, h, w, c));
                }
              }
              let max = -Infinity;
              for (const i of cells) max = Math.max(max, x.values[i]!);
              let sum = 0;
              for (const i of cells) {
                covered[i] = 1;
                if (x.values[i] === max) sum += out[i]!;
                else worst = Math.max(worst, Math.abs(out[i]!));
              }
              worst = Math.max(worst, Math.abs(sum - dy.values[((n * info.outHeight + oh) * info.outWidth + ow) * channels + c]!));
            }
          }
        }
      }
      // Cells no window reads (a stride larger than the window) get no gradient.
      for (let i = 0; i < out.length; i++) if (covered[i] === 0) worst = Math.max(worst, Math.abs(out[i]!));
      return scale === 0 ? worst : worst / scale;
    },
  };
};

/** The references the audit uses instead of a `cpu` kernel, by kernel name. */
export const REFERENCE_KERNELS: Readonly<Record<string, ReferenceKernel>> = {
  Conv2DBackpropFilter: conv2dBackpropFilterReference,
  MaxPoolGrad: maxPoolGradReference,
};
