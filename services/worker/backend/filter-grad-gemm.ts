/**
 * Filter gradient as kh·kw matrix products over *shifted views* of one buffer (no im2col).
 *
 * For tap (i, j) write i = a + s_h·t, j = b + s_w·u with a < s_h, b < s_w. Splitting the
 * zero-padded input into s_h·s_w "phase" grids X_ab[n, q, r] = xPad[n, s_h·q + a, s_w·r + b]
 * turns every tap into a stride-1 shift:
 *
 *   dW[i, j] = Σ_{n,y,x} X_ab[n, y + t, x + u]ᵀ · dy[n, y, x]
 *
 * Lay each phase grid out channel-major, X_abᵀ = [Cin, P] with P = N·Hq·Wq positions, and
 * embed dy in the same Hq × Wq grid (zeros elsewhere): DY = [P, Cout]. The shift by (t, u)
 * is then a constant offset t·Wq + u along P, so
 *
 *   dW[i, j] = view(X_abᵀ, offset) [Cin, P] @ DY [P, Cout]
 *
 * — one XNNPACK fully-connected call per tap, with DY packed once (the backend caches the
 * operator per weights tensor) and the left operand a zero-copy window into the same buffer.
 * A window runs `offset` elements into the next channel row; those elements meet rows of DY
 * past the last real output position, which are zero, so they contribute nothing.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { type BackendWasm, heapF32, heapView, releaseHeapView, runWasmKernel, shape4, withTemps } from './wasm-kernel-utils.js';

/** Geometry of the phase grids. */
export interface GemmFilterGradPlan {
  /** Phases actually touched by a filter tap: min(stride, kernel) per axis. */
  phasesH: number;
  phasesW: number;
  /** Grid size per phase: output size plus the largest per-phase tap shift. */
  gridHeight: number;
  gridWidth: number;
  /** Grid positions per phase and channel: N · gridHeight · gridWidth. */
  positions: number;
  /** Zero tail after the last row so the last window stays inside the buffer. */
  slack: number;
}

/** Derive phase-grid sizes from the forward convolution geometry. */
export function planGemmFilterGrad(convInfo: backend_util.Conv2DInfo): GemmFilterGradPlan {
  const { batchSize, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth } = convInfo;
  const tapsH = Math.ceil(filterHeight / strideHeight);
  const tapsW = Math.ceil(filterWidth / strideWidth);
  const gridHeight = outHeight + tapsH - 1;
  const gridWidth = outWidth + tapsW - 1;
  return {
    phasesH: Math.min(strideHeight, filterHeight),
    phasesW: Math.min(strideWidth, filterWidth),
    gridHeight,
    gridWidth,
    positions: batchSize * gridHeight * gridWidth,
    slack: (tapsH - 1) * gridWidth + (tapsW - 1),
  };
}

/**
 * Scatter NHWC x into the channel-major phase grids [phasesH·phasesW, Cin, P] (+ slack).
 * Everything the padded input does not cover stays zero; input rows that no tap reads (the
 * leftover of a 'valid' convolution) fall outside the grid and are skipped.
 */
function fillPhaseGrids(dst: Float32Array, src: Float32Array, convInfo: backend_util.Conv2DInfo, plan: GemmFilterGradPlan): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: cin, strideHeight: sh, strideWidth: sw } = convInfo;
  const { phasesH, phasesW, gridHeight: gh, gridWidth: gw } = plan;
  const top = convInfo.padInfo.top;
  const left = convInfo.padInfo.left;
  dst.fill(0);
  // Column bookkeeping depends only on the column: phase b and grid column r.
  const colPhase = new Int32Array(w);
  const colGrid = new Int32Array(w);
  for (let x = 0; x < w; x++) {
    const padded = x + left;
    colPhase[x] = padded % sw;
    colGrid[x] = Math.floor(padded / sw);
    if ((colPhase[x] as number) >= phasesW || (colGrid[x] as number) >= gw) colPhase[x] = -1;
  }
  const p = plan.positions;
  let s = 0;
  for (let img = 0; img < n; img++) {
    for (let y = 0; y < h; y++) {
      const padded = y + top;
      const a = padded % sh;
      const q = Math.floor(padded / sh);
      if (a >= phasesH || q >= gh) {
        s += w * cin;
        continue;
      }
      const rowBase = a * phasesW * cin * p + (img * gh + q) * gw;
      for (let x = 0; x < w; x++) {
        const b = colPhase[x] as number;
        if (b < 0) {
          s += cin;
          continue;
        }
        let d = rowBase + b * cin * p + (colGrid[x] as number);
        for (let c = 0; c < cin; c++) {
          dst[d] = src[s++] as number;
          d += p;
        }
      }
    }
  }
}

/** Embed NHWC dy [N, Ho, Wo, Cout] at the top-left of each image's Hq × Wq grid block: [P, Cout]. */
function fillDyGrid(dst: Float32Array, src: Float32Array, convInfo: backend_util.Conv2DInfo, plan: GemmFilterGradPlan): void {
  const { batchSize: n, outHeight: ho, outWidth: wo, outChannels: cout } = convInfo;
  const { gridHeight: gh, gridWidth: gw } = plan;
  if (gh === ho && gw === wo) {
    dst.set(src);
    return;
  }
  dst.fill(0);
  const rowLength = wo * cout;
  for (let img = 0; img < n; img++) {
    for (let y = 0; y < ho; y++) {
      const from = (img * ho + y) * rowLength;
      dst.set(src.subarray(from, from + rowLength), (img * gh + y) * gw * cout);
    }
  }
}

/**
 * dW (HWIO) for NHWC float32 `x` and `dy` by the shifted-GEMM method. The caller checks
 * {@link supportsHeapViews} first.
 */
export function filterGradByGemm(backend: BackendWasm, x: TensorInfo, dy: TensorInfo, convInfo: backend_util.Conv2DInfo): TensorInfo {
  const plan = planGemmFilterGrad(convInfo);
  const { filterHeight: kh, filterWidth: kw, inChannels: cin, outChannels: cout, strideHeight: sh, strideWidth: sw } = convInfo;
  const { positions, gridWidth: gw, phasesW } = plan;
  shape4(x);
  shape4(dy);
  return withTemps(backend, (temps) => {
    const grids = backend.makeOutput([plan.phasesH * phasesW * cin * positions + plan.slack], 'float32');
    temps.push(grids);
    // One weights tensor for every tap: the backend packs it once (its operator cache is keyed
    // by the weights' id) and each tap's GEMM reuses the packed copy.
    const dyGrid = backend.makeOutput([1, positions, cout], 'float32');
    temps.push(dyGrid);
    const out = backend.makeOutput([kh, kw, cin, cout], 'float32');
    // Views are taken after the allocations above: a heap growth would detach them.
    fillPhaseGrids(heapF32(backend, grids), heapF32(backend, x), convInfo, plan);
    fillDyGrid(heapF32(backend, dyGrid), heapF32(backend, dy), convInfo, plan);
    try {
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const phase = (i % sh) * phasesW + (j % sw);
          const offset = phase * cin * positions + Math.floor(i / sh) * gw + Math.floor(j / sw);
          const window = heapView(backend, grids, offset, [1, cin, positions]);
          let tap: TensorInfo;
          try {
            tap = runWasmKernel('BatchMatMul', backend, { a: window, b: dyGrid }, { transposeA: false, transposeB: false });
          } finally {
            releaseHeapView(backend, window);
          }
          heapF32(backend, out).set(heapF32(backend, tap), (i * kw + j) * cin * cout);
          backend.disposeData(tap.dataId);
        }
      }
    } catch (err) {
      backend.disposeData(out.dataId);
      throw err;
    }
    return out;
  });
}
