/**
 * WGSL for convolutions written as implicit GEMMs: C[i, j] = Σ_r A(i, r) · B(r, j), where A and B
 * are never materialised — each workgroup gathers its tiles of them straight from the NHWC tensors
 * into workgroup memory (no im2col buffer, no strided slices, no concat: one dispatch).
 *
 * | kernel                     | i (rows)        | j (cols) | r (reduction)      | A(i, r)                 | B(r, j)        |
 * |----------------------------|-----------------|----------|--------------------|-------------------------|----------------|
 * | Conv2DBackpropFilter (dW)  | (kh, kw, ci)    | co       | (n, oh, ow)        | x patch value           | dy[n, oh, ow, co] |
 * | Conv2DBackpropInput (dx)   | (n, h, w)       | ci       | (kh, kw, co)       | dy tap                  | W[kh, kw, ci, co] |
 *
 * dW's reduction runs over every output position of the batch (2 … 500 K values) for a small
 * result (≤ 4608 × 512), so it is split over `splits` slices along r, each writing a partial
 * result that a second dispatch sums (split-K): without it a ResNet stage-1 dW would occupy only a
 * handful of workgroups. Every shape is a WGSL constant: one pipeline per layer geometry, no
 * uniforms, and integer division by constants that the compiler strength-reduces.
 *
 * Tiling: a workgroup computes a TM × TN tile of C (16, 32, 64 or 128 per side, sized to the GEMM so
 * that 16-channel layers do not waste three quarters of a wide tile), each thread a 4 × 4 or 8 × 8
 * block held in vec4 registers ({@link GemmTiling}), stepping through r in slices of 16 staged in
 * workgroup memory.
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
  /** Rows and columns of C per thread: 4 or 8 (two blocks of 4, half a tile apart). */
  readonly rm: number;
  readonly rn: number;
}

const TK = 16;

/**
 * `narrow`: tiles of at most 64 × 64, each thread a 4 × 4 block of C (16 FMAs per pair of vec4
 * reads from workgroup memory). `wide`: sides over 64 take 128-wide tiles where each thread holds
 * 8 of that side (two blocks of 4, half a tile apart, so neighbouring threads read neighbouring
 * vec4s) — on a 128 × 128 tile 64 FMAs per 4 vec4 reads, and each gathered operand is reused 8
 * times instead of 4. Both are correct on every shape; {@link setGemmTiling} chooses (selectBackend
 * applies `ENCOURAGE_WEBGPU_GEMM`; docs/performance.md has what each measured on an H200).
 */
export type GemmTiling = 'narrow' | 'wide';
let tiling: GemmTiling = 'wide';

/** Choose the tiling of the convolution GEMMs from now on (pipelines are cached per tiling). */
export function setGemmTiling(next: GemmTiling): void {
  tiling = next;
}

/** The tiling in use. */
export function gemmTiling(): GemmTiling {
  return tiling;
}

function side(extent: number): number {
  return extent <= 16 ? 16 : extent <= 32 ? 32 : extent <= 64 || tiling === 'narrow' ? 64 : 128;
}

/** Tile sizes for a GEMM of `rows` × `cols` under the current tiling. */
export function chooseTiles(rows: number, cols: number): GemmTiles {
  const tm = side(rows);
  const tn = side(cols);
  return { tm, tn, tk: TK, rm: tm === 128 ? 8 : 4, rn: tn === 128 ? 8 : 4 };
}

/** The tiles as part of a pipeline key (one pipeline per geometry and tiling). */
export function tilesKey(t: GemmTiles): string {
  return `${t.tm}x${t.tn}x${t.rm}x${t.rn}`;
}

/** How the two operands are gathered (WGSL function bodies) and which of their indices is contiguous in memory. */
export interface GemmOperands {
  /** WGSL `fn loadA(i: u32, r: u32) -> f32` (callers guarantee i < rows, r < rEnd). */
  readonly loadA: string;
  /** WGSL `fn loadB(r: u32, j: u32) -> f32`. */
  readonly loadB: string;
  /** True when consecutive r are adjacent in memory for A (else consecutive i are). */
  readonly aContiguousInR: boolean;
  /** True when consecutive j are adjacent in memory for B (else consecutive r are). */
  readonly bContiguousInJ: boolean;
  /**
   * WGSL statements at the top of `main` defining `rows`, `row0`, `rBegin`, `rEnd` for this
   * workgroup (default: one GEMM of ROWS rows, row tile wid.y, reduction slice wid.z).
   */
  readonly setup?: string;
  /** WGSL `fn store(slice: u32, i: u32, j: u32, v: f32)` (default: out[(slice·ROWS + i)·COLS + j] = v). */
  readonly store?: string;
  /** Module-scope declarations the functions above use (e.g. `var<private>` set by `setup`). */
  readonly declarations?: string;
}

const DEFAULT_SETUP = `let rows = ROWS;
  let row0 = wid.y * TM;
  let rBegin = wid.z * CHUNK;
  let rEnd = min(REDUCE, rBegin + CHUNK);`;

const DEFAULT_STORE = 'fn store(slice: u32, i: u32, j: u32, v: f32) { out[(slice * ROWS + i) * COLS + j] = v; }';

/** Extents of a GEMM C[rows, cols] = Σ over `reduce` of A·B, and the reduction slice per workgroup. */
export interface GemmShape {
  readonly rows: number;
  readonly cols: number;
  readonly reduce: number;
  /** Reduction elements per slice (a multiple of TK); = reduce rounded up when not split. */
  readonly chunk: number;
}

/**
 * The GEMM kernel: workgroup (x, y, z) = (column tile, row tile, reduction slice) unless `setup`
 * says otherwise; each result goes through `store` (default: slice z of out[z, ROWS, COLS]).
 */
export function gemmKernel(shape: GemmShape, tiles: GemmTiles, ops: GemmOperands, bindings: string): string {
  const { tm, tn, tk, rm, rn } = tiles;
  const tx = tn / rn;
  const wg = (tm / rm) * tx;
  // Blocks of 4 rows (columns) per thread, and how many vec4s apart they sit in a tile row.
  const bm = rm / 4;
  const bn = rn / 4;
  const rowStride = tm / 4 / bm;
  const colStride = tn / 4 / bn;
  const aIndex = ops.aContiguousInR ? 'let ii = e / TK; let rr = e % TK;' : 'let ii = e % TM; let rr = e / TM;';
  const bIndex = ops.bContiguousInJ ? 'let rr = e / TN; let jj = e % TN;' : 'let rr = e % TK; let jj = e / TK;';
  const blocks: Array<{ b: number; p: number; c: number; name: string }> = [];
  for (let b = 0; b < bm; b++) for (let p = 0; p < 4; p++) for (let c = 0; c < bn; c++) blocks.push({ b, p, c, name: `acc${b}${p}${c}` });
  const lane = ['x', 'y', 'z', 'w'];
  const declare = blocks.map((k) => `var ${k.name} = vec4<f32>(0.0);`).join('\n  ');
  const readA = Array.from({ length: bm }, (_, b) => `let a${b} = tileA[rr * (TM / 4u) + ${b * rowStride}u + ty];`).join('\n      ');
  const readB = Array.from({ length: bn }, (_, c) => `let b${c} = tileB[rr * (TN / 4u) + ${c * colStride}u + tx];`).join('\n      ');
  const fmas = blocks.map((k) => `${k.name} = fma(vec4<f32>(a${k.b}.${lane[k.p]}), b${k.c}, ${k.name});`).join('\n      ');
  const stores = blocks
    .map((k) => `{
    let i = row0 + ${k.b * rowStride * 4}u + ty * 4u + ${k.p}u;
    let j = col0 + ${k.c * colStride * 4}u + tx * 4u;
    if (i < rows) {
      if (j < COLS) { store(wid.z, i, j, ${k.name}.x); }
      if (j + 1u < COLS) { store(wid.z, i, j + 1u, ${k.name}.y); }
      if (j + 2u < COLS) { store(wid.z, i, j + 2u, ${k.name}.z); }
      if (j + 3u < COLS) { store(wid.z, i, j + 3u, ${k.name}.w); }
    }
  }`)
    .join('\n  ');
  return `${bindings}
const ROWS: u32 = ${shape.rows}u;
const COLS: u32 = ${shape.cols}u;
const REDUCE: u32 = ${shape.reduce}u;
const CHUNK: u32 = ${shape.chunk}u;
const TM: u32 = ${tm}u;
const TN: u32 = ${tn}u;
const TK: u32 = ${tk}u;
const TX: u32 = ${tx}u;
const WG: u32 = ${wg}u;
// Column-blocks of 4: tileA[r][i / 4] holds rows i…i+3 of A at reduction index r, tileB[r][j / 4] columns j…j+3.
var<workgroup> tileA: array<vec4<f32>, ${(tm * tk) / 4}>;
var<workgroup> tileB: array<vec4<f32>, ${(tk * tn) / 4}>;
${ops.declarations ?? ''}
${ops.loadA}
${ops.loadB}
${ops.store ?? DEFAULT_STORE}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  ${ops.setup ?? DEFAULT_SETUP}
  let col0 = wid.x * TN;
  let tx = lid % TX;
  let ty = lid / TX;
  ${declare}
  for (var r0 = rBegin; r0 < rEnd; r0 += TK) {
    for (var e = lid; e < TM * TK; e += WG) {
      ${aIndex}
      let i = row0 + ii;
      let r = r0 + rr;
      var v = 0.0;
      if (i < rows && r < rEnd) { v = loadA(i, r); }
      tileA[rr * (TM / 4u) + ii / 4u][ii % 4u] = v;
    }
    for (var e = lid; e < TK * TN; e += WG) {
      ${bIndex}
      let j = col0 + jj;
      let r = r0 + rr;
      var v = 0.0;
      if (j < COLS && r < rEnd) { v = loadB(r, j); }
      tileB[rr * (TN / 4u) + jj / 4u][jj % 4u] = v;
    }
    workgroupBarrier();
    for (var rr = 0u; rr < TK; rr++) {
      ${readA}
      ${readB}
      ${fmas}
    }
    workgroupBarrier();
  }
  ${stores}
}`;
}

/** The geometry as WGSL constants (N_, H_, W_, CI, HO, WO, CO, KW, SH, SW, PT, PL) for the operand functions. */
export function geometryConstants(g: ConvGeometry): string {
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
