/**
 * dx of a strided convolution without multiplying zeros: the "phase" (sub-pixel)
 * decomposition of the transposed convolution.
 *
 * Output rows h with (h + padTop) ≡ a (mod s) receive contributions only from the filter
 * rows i ≡ a (mod s). Grouping dx by phase (a, b) therefore splits the transposed convolution
 * into s² dense stride-1 correlations of dy with sub-filters (taps a, a+s, …; rotated and
 * in/out-swapped), each producing an interleaved slice of dx. Compared with correlating the
 * zero-dilated dy, this does 1/s² of the multiply-adds. With stride 1 it is a single
 * correlation whose output is dx itself.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { type BackendWasm, heapF32, runWasmKernel, shape4, withTemps } from './wasm-kernel-utils.js';

/** One axis of one phase. */
export interface PhaseAxis {
  /** Phase index a (0 ≤ a < stride). */
  phase: number;
  /** Filter taps in this phase: a, a + s, … < k. Zero means the phase receives no gradient. */
  taps: number;
  /** First phase-grid index q0: dx index = s·(q0 + k) + a − pad. */
  first: number;
  /** Number of dx rows (or columns) in this phase. */
  count: number;
  /** Padding of dy before/after for the stride-1 correlation (may be negative). */
  padBefore: number;
  padAfter: number;
}

/** Split one spatial axis into its phases. */
export function planPhaseAxis(inSize: number, outSize: number, kernel: number, stride: number, padBefore: number): PhaseAxis[] {
  const axes: PhaseAxis[] = [];
  for (let a = 0; a < stride; a++) {
    const taps = a < kernel ? Math.ceil((kernel - a) / stride) : 0;
    const first = Math.ceil((padBefore - a) / stride) || 0; // || 0: no -0 from ceil(-0.5)
    const last = Math.floor((inSize - 1 + padBefore - a) / stride);
    const count = Math.max(last - first + 1, 0);
    const before = taps - 1 - first;
    const after = count - outSize - before + taps - 1;
    axes.push({ phase: a, taps, first, count, padBefore: before, padAfter: after });
  }
  return axes;
}

/** Phases along height and width for a forward convolution. */
export function planInputGradPhases(convInfo: backend_util.Conv2DInfo): { rows: PhaseAxis[]; cols: PhaseAxis[] } {
  return {
    rows: planPhaseAxis(convInfo.inHeight, convInfo.outHeight, convInfo.filterHeight, convInfo.strideHeight, convInfo.padInfo.top),
    cols: planPhaseAxis(convInfo.inWidth, convInfo.outWidth, convInfo.filterWidth, convInfo.strideWidth, convInfo.padInfo.left),
  };
}

/**
 * Whether every phase that has taps can be run as a plain padded correlation. Negative
 * padding (forward padding ≥ kernel) is left to the general zero-dilation path.
 */
export function phasesSupported(plan: { rows: PhaseAxis[]; cols: PhaseAxis[] }): boolean {
  const ok = (axis: PhaseAxis): boolean => axis.taps === 0 || axis.count === 0 || (axis.padBefore >= 0 && axis.padAfter >= 0);
  return plan.rows.every(ok) && plan.cols.every(ok);
}

/**
 * Sub-filter of phase (rows, cols): F[t, u, co, ci] = W[a + s·(T−1−t), b + s·(U−1−u), ci, co],
 * i.e. the phase's taps rotated by 180° with in/out channels swapped.
 */
function phaseFilter(backend: BackendWasm, filter: TensorInfo, rows: PhaseAxis, cols: PhaseAxis, strides: [number, number]): TensorInfo {
  const [, kw, cin, cout] = shape4(filter);
  const [sh, sw] = strides;
  const out = backend.makeOutput([rows.taps, cols.taps, cout, cin], 'float32');
  const src = heapF32(backend, filter);
  const dst = heapF32(backend, out);
  let d = 0;
  for (let t = 0; t < rows.taps; t++) {
    const i = rows.phase + sh * (rows.taps - 1 - t);
    for (let u = 0; u < cols.taps; u++) {
      const j = cols.phase + sw * (cols.taps - 1 - u);
      const tap = (i * kw + j) * cin * cout;
      for (let co = 0; co < cout; co++) {
        for (let ci = 0; ci < cin; ci++) dst[d++] = src[tap + ci * cout + co] as number;
      }
    }
  }
  return out;
}

/**
 * dx for NHWC float32 `dy` and HWIO `filter` by phase decomposition. Requires
 * {@link phasesSupported}. With stride 1 the correlation output is returned directly.
 */
export function inputGradByPhases(backend: BackendWasm, dy: TensorInfo, filter: TensorInfo, convInfo: backend_util.Conv2DInfo): TensorInfo {
  const plan = planInputGradPhases(convInfo);
  const strides: [number, number] = [convInfo.strideHeight, convInfo.strideWidth];
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin } = convInfo;
  const top = convInfo.padInfo.top;
  const left = convInfo.padInfo.left;
  const correlate = (rows: PhaseAxis, cols: PhaseAxis, temps: TensorInfo[]): TensorInfo => {
    const sub = phaseFilter(backend, filter, rows, cols, strides);
    temps.push(sub);
    return runWasmKernel(
      'Conv2D',
      backend,
      { x: dy, filter: sub },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [rows.padBefore, rows.padAfter],
          [cols.padBefore, cols.padAfter],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  };
  const [onlyRows] = plan.rows;
  const [onlyCols] = plan.cols;
  if (plan.rows.length === 1 && plan.cols.length === 1 && onlyRows !== undefined && onlyCols !== undefined) {
    return withTemps(backend, (temps) => correlate(onlyRows, onlyCols, temps));
  }
  return withTemps(backend, (temps) => {
    const dx = backend.makeOutput([n, h, w, cin], 'float32');
    // Phases without taps (e.g. 3 of the 4 phases of a 1×1 stride-2 projection) get zero
    // gradient; one bulk fill up front is far cheaper than zeroing their scattered pixels.
    if (plan.rows.some((a) => a.taps === 0 && a.count > 0) || plan.cols.some((a) => a.taps === 0 && a.count > 0)) {
      heapF32(backend, dx).fill(0);
    }
    try {
      for (const rows of plan.rows) {
        for (const cols of plan.cols) {
          if (rows.count === 0 || cols.count === 0) continue;
          if (rows.taps === 0 || cols.taps === 0) continue; // left as zeros below
          const part = correlate(rows, cols, temps);
          temps.push(part);
          scatterPhase(heapF32(backend, dx), heapF32(backend, part), n, h, w, cin, rows, cols, strides, top, left);
        }
      }
    } catch (err) {
      backend.disposeData(dx.dataId);
      throw err;
    }
    return dx;
  });
}

/** Write a phase result [N, count_r, count_c, C] to its interleaved positions in dx. */
function scatterPhase(
  dx: Float32Array,
  part: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  rows: PhaseAxis,
  cols: PhaseAxis,
  [sh, sw]: [number, number],
  top: number,
  left: number,
): void {
  const y0 = sh * rows.first + rows.phase - top;
  const x0 = sw * cols.first + cols.phase - left;
  const colStep = sw * c;
  let s = 0;
  for (let img = 0; img < n; img++) {
    for (let q = 0; q < rows.count; q++) {
      let d = ((img * h + y0 + sh * q) * w + x0) * c;
      for (let r = 0; r < cols.count; r++) {
        for (let k = 0; k < c; k++) dx[d + k] = part[s++] as number;
        d += colStep;
      }
    }
  }
}
