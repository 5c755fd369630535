/**
 * WGSL for convolutions written as implicit GEMMs: C[i, j] = Σ_r A(i, r) · B(r, j), where A and B
 * are never materialised — each workgroup gathers its tiles of them straight from the NHWC tensors
 * into workgroup memory (no im2col buffer, no strided slices, no concat: one dispatch).
 *
 * | kernel                     | i (rows)        | j (cols) | r (reduction)      | A(i, r)                 | B(r, j)        |
 * |----------------------------|-----------------|----------|--------------------|-------------------------|----------------|
 * | Conv2DBackpropFilter (dW)  | (kh, kw, ci)    | co       | (n, oh, ow)        | x patch value           | dy[n, oh, ow, co] |
 * | Conv2DBackpropInput (dx)   | (n, h, w)       | ci       | (kh, kw, co)       | dy tap (0 off the grid) | W[kh, kw, ci, co] |
 *
 * dW's reduction runs over every output position of the batch (2 … 500 K values) for a small
 * result (≤ 4608 × 512), so it is split over `splits` slices along r, each writing a partial
 * result that a second dispatch sums (split-K): without it a ResNet stage-1 dW would occupy only a
 * handful of workgroups. Every shape is a WGSL constant: one pipeline per layer geometry, no
 * uniforms, and integer division by constants that the compiler strength-reduces.
 *
 * Tiling: a workgroup of 256 threads computes a TM × TN tile of C, each thread RM × RN values held
 * in registers, stepping through r in slices of TK staged in workgroup memory. Tiles are sized to
 * the GEMM (16/32/64 per side) so 16-channel layers do not waste three quarters of a 64-wide tile.
 */

/** Convolution geometry in NHWC, dilation 1 (what computeConv2DInfo gives, flattened). */
export interface ConvGeometry {
  readonly batch: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly padTop: number;
  readonly padLeft: number;
}

/** Tile sizes of one GEMM. */
export interface GemmTiles {
  readonly tm: number;
  readonly tn: number;
  readonly tk: number;
}

/** Threads per workgroup along each tile side (16 × 16 = 256). */
const THREADS_PER_SIDE = 16;
const TK = 16;

function side(extent: number): number {
  return extent <= 16 ? 16 : extent <= 32 ? 32 : 64;
}

/** Tile sizes for a GEMM of `rows` × `cols`. */
export function chooseTiles(rows: number, cols: number): GemmTiles {
  return { tm: side(rows), tn: side(cols), tk: TK };
}

/** How the two operands are gathered (WGSL function bodies) and which of their indices is contiguous in memory. */
interface GemmOperands {
  /** WGSL `fn loadA(i: u32, r: u32) -> f32` (callers guarantee i < ROWS, r < REDUCE). */
  readonly loadA: string;
  readonly loadB: string;
  /** True when consecutive r are adjacent in memory for A (else consecutive i are). */
  readonly aContiguousInR: boolean;
  /** True when consecutive j are adjacent in memory for B (else consecutive r are). */
  readonly bContiguousInJ: boolean;
}

interface GemmShape {
  readonly rows: number;
  readonly cols: number;
  readonly reduce: number;
  /** Reduction elements per slice (a multiple of TK); = reduce rounded up when not split. */
  readonly chunk: number;
}

/**
 * The GEMM kernel body: workgroup (x, y, z) = (column tile, row tile, reduction slice); the result
 * of slice z goes to `out[(z · ROWS + i) · COLS + j]` (z is 0 when the reduction is not split).
 */
function gemmKernel(shape: GemmShape, tiles: GemmTiles, ops: GemmOperands, bindings: string): string {
  const { tm, tn, tk } = tiles;
  const rm = tm / THREADS_PER_SIDE;
  const rn = tn / THREADS_PER_SIDE;
  const wg = THREADS_PER_SIDE * THREADS_PER_SIDE;
  const aIndex = ops.aContiguousInR ? 'let ii = e / TK; let rr = e % TK;' : 'let ii = e % TM; let rr = e / TM;';
  const bIndex = ops.bContiguousInJ ? 'let rr = e / TN; let jj = e % TN;' : 'let rr = e % TK; let jj = e / TK;';
  return `${bindings}
const ROWS: u32 = ${shape.rows}u;
const COLS: u32 = ${shape.cols}u;
const REDUCE: u32 = ${shape.reduce}u;
const CHUNK: u32 = ${shape.chunk}u;
const TM: u32 = ${tm}u;
const TN: u32 = ${tn}u;
const TK: u32 = ${tk}u;
const RM: u32 = ${rm}u;
const RN: u32 = ${rn}u;
const T: u32 = ${THREADS_PER_SIDE}u;
const WG: u32 = ${wg}u;
var<workgroup> tileA: array<f32, ${tm * tk}>;
var<workgroup> tileB: array<f32, ${tk * tn}>;
${ops.loadA}
${ops.loadB}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.y * TM;
  let col0 = wid.x * TN;
  let rBegin = wid.z * CHUNK;
  let rEnd = min(REDUCE, rBegin + CHUNK);
  let tx = lid % T;
  let ty = lid / T;
  var acc: array<f32, ${rm * rn}>;
  for (var k = 0u; k < RM * RN; k++) { acc[k] = 0.0; }
  for (var r0 = rBegin; r0 < rEnd; r0 += TK) {
    for (var e = lid; e < TM * TK; e += WG) {
      ${aIndex}
      let i = row0 + ii;
      let r = r0 + rr;
      var v = 0.0;
      if (i < ROWS && r < rEnd) { v = loadA(i, r); }
      tileA[rr * TM + ii] = v;
    }
    for (var e = lid; e < TK * TN; e += WG) {
      ${bIndex}
      let j = col0 + jj;
      let r = r0 + rr;
      var v = 0.0;
      if (j < COLS && r < rEnd) { v = loadB(r, j); }
      tileB[rr * TN + jj] = v;
    }
    workgroupBarrier();
    for (var rr = 0u; rr < TK; rr++) {
      var a: array<f32, ${rm}>;
      var b: array<f32, ${rn}>;
      for (var p = 0u; p < RM; p++) { a[p] = tileA[rr * TM + ty + p * T]; }
      for (var q = 0u; q < RN; q++) { b[q] = tileB[rr * TN + tx + q * T]; }
      for (var p = 0u; p < RM; p++) {
        for (var q = 0u; q < RN; q++) { acc[p * RN + q] = fma(a[p], b[q], acc[p * RN + q]); }
      }
    }
    workgroupBarrier();
  }
  for (var p = 0u; p < RM; p++) {
    for (var q = 0u; q < RN; q++) {
      let i = row0 + ty + p * T;
      let j = col0 + tx + q * T;
      if (i < ROWS && j < COLS) { out[(wid.z * ROWS + i) * COLS + j] = acc[p * RN + q]; }
    }
  }
}`;
}

function geometryConstants(g: ConvGeometry): string {
  return `const N_: u32 = ${g.batch}u;
const H_: i32 = ${g.inHeight};
const W_: i32 = ${g.inWidth};
const CI: u32 = ${g.inChannels}u;
const HO: i32 = ${g.outHeight};
const WO: i32 = ${g.outWidth};
const CO: u32 = ${g.outChannels}u;
const KW: u32 = ${g.filterWidth}u;
const SH: i32 = ${g.strideHeight};
const SW: i32 = ${g.strideWidth};
const PT: i32 = ${g.padTop};
const PL: i32 = ${g.padLeft};`;
}

/** Positions n·HO·WO of dy = the dW reduction length. */
export function outputPositions(g: ConvGeometry): number {
  return g.batch * g.outHeight * g.outWidth;
}

/** The split of dW's reduction: `splits` slices of `chunk` positions (a multiple of the tile depth). */
export function filterGradSplit(g: ConvGeometry, targetWorkgroups: number, minChunk: number): { splits: number; chunk: number } {
  const rows = g.filterHeight * g.filterWidth * g.inChannels;
  const tiles = chooseTiles(rows, g.outChannels);
  const tileCount = Math.ceil(rows / tiles.tm) * Math.ceil(g.outChannels / tiles.tn);
  const positions = outputPositions(g);
  const wanted = Math.max(1, Math.ceil(targetWorkgroups / tileCount));
  const cap = Math.max(1, Math.floor(positions / minChunk));
  let chunk = Math.ceil(positions / Math.min(wanted, cap));
  chunk = Math.ceil(chunk / TK) * TK;
  return { splits: Math.ceil(positions / chunk), chunk };
}

/**
 * dW as out[s, (kh, kw, ci), co] partial sums over slice s of the positions (s = 0 only when not
 * split): bindings `out` (write), `x`, `dy` (read).
 */
export function filterGradWgsl(g: ConvGeometry, chunk: number): string {
  const rows = g.filterHeight * g.filterWidth * g.inChannels;
  const tiles = chooseTiles(rows, g.outChannels);
  const positions = outputPositions(g);
  const ops: GemmOperands = {
    loadA: `${geometryConstants(g)}
fn loadA(i: u32, r: u32) -> f32 {
  let n = r / u32(HO * WO);
  let s = r % u32(HO * WO);
  let oh = i32(s / u32(WO));
  let ow = i32(s % u32(WO));
  let kh = i32(i / (KW * CI));
  let t = i % (KW * CI);
  let kw = i32(t / CI);
  let ci = t % CI;
  let ih = oh * SH - PT + kh;
  let iw = ow * SW - PL + kw;
  if (ih < 0 || ih >= H_ || iw < 0 || iw >= W_) { return 0.0; }
  return x[((n * u32(H_) + u32(ih)) * u32(W_) + u32(iw)) * CI + ci];
}`,
    loadB: `fn loadB(r: u32, j: u32) -> f32 { return dy[r * CO + j]; }`,
    aContiguousInR: g.inChannels === 1,
    bContiguousInJ: true,
  };
  const bindings = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;`;
  return gemmKernel({ rows, cols: g.outChannels, reduce: positions, chunk }, tiles, ops, bindings);
}

/**
 * dx[n, h, w, ci] = Σ over taps (kh, kw) and co of dy[n, (h + PT − kh)/SH, (w + PL − kw)/SW, co] ·
 * W[kh, kw, ci, co], where only taps landing on the stride grid inside dy contribute: bindings
 * `out` (write), `dy`, `w` (read), plus `addend` (read) when `accumulate` (out = dx + addend).
 */
export function inputGradWgsl(g: ConvGeometry, accumulate: boolean): string {
  const rows = g.batch * g.inHeight * g.inWidth;
  const reduce = g.filterHeight * g.filterWidth * g.outChannels;
  const tiles = chooseTiles(rows, g.inChannels);
  const strided = g.strideHeight > 1 || g.strideWidth > 1;
  const ops: GemmOperands = {
    loadA: `${geometryConstants(g)}
fn loadA(i: u32, r: u32) -> f32 {
  let n = i / u32(H_ * W_);
  let s = i % u32(H_ * W_);
  let h = i32(s / u32(W_));
  let w = i32(s % u32(W_));
  let kh = i32(r / (KW * CO));
  let t = r % (KW * CO);
  let kw = i32(t / CO);
  let co = t % CO;
  let th = h + PT - kh;
  let tw = w + PL - kw;
  if (th < 0 || tw < 0) { return 0.0; }
  ${strided ? 'if (th % SH != 0 || tw % SW != 0) { return 0.0; }' : ''}
  let oh = th / SH;
  let ow = tw / SW;
  if (oh >= HO || ow >= WO) { return 0.0; }
  return dy[((n * u32(HO) + u32(oh)) * u32(WO) + u32(ow)) * CO + co];
}`,
    // r = (kh·KW + kw)·CO + co; W is [kh, kw, ci, co].
    loadB: `fn loadB(r: u32, j: u32) -> f32 { return w[((r / CO) * CI + j) * CO + r % CO]; }`,
    aContiguousInR: true,
    bContiguousInJ: false,
  };
  const bindings = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;${accumulate ? '\n@group(0) @binding(3) var<storage, read> addend: array<f32>;' : ''}`;
  let wgsl = gemmKernel({ rows, cols: g.inChannels, reduce, chunk: Math.ceil(reduce / TK) * TK }, tiles, ops, bindings);
  if (accumulate) wgsl = wgsl.replace('out[(wid.z * ROWS + i) * COLS + j] = acc[p * RN + q];', 'out[i * COLS + j] = acc[p * RN + q] + addend[i * COLS + j];');
  return wgsl;
}

/** Sum of `splits` partial results of `size` values each: `out[i] = Σ_s part[s · size + i]`. */
export function splitSumWgsl(size: number, splits: number): string {
  return `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> part: array<f32>;
const SIZE: u32 = ${size}u;
const SPLITS: u32 = ${splits}u;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= SIZE) { return; }
  var s = 0.0;
  for (var k = 0u; k < SPLITS; k++) { s += part[k * SIZE + i]; }
  out[i] = s;
}`;
}
