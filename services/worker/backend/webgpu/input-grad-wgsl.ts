/**
 * dx of a convolution as implicit GEMMs on the tiled template of conv-gemm-wgsl.ts:
 *   dx[n, h, w, ci] = Σ_{kh, kw, co} dy[n, (h + PT − kh)/SH, (w + PL − kw)/SW, co] · W[kh, kw, ci, co]
 * over the taps that land on dy's stride grid.
 *
 * Stride 1: one GEMM, rows (n, h, w), reduction (kh, kw, co).
 * Stride s > 1: a row only meets taps with kh ≡ h + PT (mod s) — all others hit between dy's
 * samples. Gathering them anyway (and multiplying zeros) does s² times the work (4× for the
 * stride-2 layers). So the rows are split into s² *phases* (h + PT mod s, w + PL mod s), each a
 * dense GEMM over its own taps only — the phase decomposition of the wasm kernel
 * (input-grad-phases.ts), here in one dispatch: the workgroup's y index picks the phase and the
 * row tile within it, so no tile mixes phases. A phase without taps (a 1×1 kernel's odd rows)
 * gets tiles too and writes zeros (or the addend).
 *
 * With `accumulate`, dx + addend is written: the gradient a tensor already had from another
 * consumer (a residual shortcut) is summed in the epilogue instead of by an extra kernel.
 */
import { chooseTiles, gemmKernel, geometryConstants, type ConvGeometry, type GemmOperands } from './conv-gemm-wgsl.js';

/** One phase of a strided dx: its rows h = h0 + s·a (a < rowsH), taps kh = ph + s·k (k < tapsH), and dy's row offset. */
export interface InputGradPhase {
  readonly ph: number;
  readonly pw: number;
  readonly h0: number;
  readonly w0: number;
  readonly rowsH: number;
  readonly rowsW: number;
  readonly tapsH: number;
  readonly tapsW: number;
  /** oh = c0h + a − k for row a and tap k. */
  readonly c0h: number;
  readonly c0w: number;
  /** First workgroup row index (wid.y) of the phase, and its number of row tiles. */
  readonly firstTile: number;
  readonly tiles: number;
}

function axis(size: number, kernel: number, stride: number, pad: number, phase: number) {
  const start = (((phase - pad) % stride) + stride) % stride;
  const rows = start < size ? Math.ceil((size - start) / stride) : 0;
  const taps = phase < kernel ? Math.ceil((kernel - phase) / stride) : 0;
  return { start, rows, taps, c0: (start + pad - phase) / stride };
}

/** The phases of a strided dx (one phase, the whole GEMM, for stride 1), with their row tiles. */
export function inputGradPhases(g: ConvGeometry): { phases: InputGradPhase[]; tileRows: number; workgroupsY: number } {
  const { tm } = chooseTiles(g.batch * g.inHeight * g.inWidth, g.inChannels);
  const phases: InputGradPhase[] = [];
  let next = 0;
  for (let ph = 0; ph < g.strideHeight; ph++) {
    for (let pw = 0; pw < g.strideWidth; pw++) {
      const h = axis(g.inHeight, g.filterHeight, g.strideHeight, g.padTop, ph);
      const w = axis(g.inWidth, g.filterWidth, g.strideWidth, g.padLeft, pw);
      const tiles = Math.ceil((g.batch * h.rows * w.rows) / tm);
      if (tiles === 0) continue;
      phases.push({ ph, pw, h0: h.start, w0: w.start, rowsH: h.rows, rowsW: w.rows, tapsH: h.taps, tapsW: w.taps, c0h: h.c0, c0w: w.c0, firstTile: next, tiles });
      next += tiles;
    }
  }
  return { phases, tileRows: tm, workgroupsY: next };
}

/** WGSL of dx (bindings `out` (write), `dy`, `w`[, `addend`] (read)); dispatch [ceil(CI / tn), workgroupsY, 1]. */
export function inputGradWgsl(g: ConvGeometry, accumulate: boolean): string {
  const rows = g.batch * g.inHeight * g.inWidth;
  const tiles = chooseTiles(rows, g.inChannels);
  const { phases } = inputGradPhases(g);
  // One phase (stride 1): its numbers are shader constants, so divisions by them strength-reduce.
  const single = phases.length === 1 ? phases[0]! : null;
  const names = ['PH', 'PW', 'H0', 'W0', 'HA', 'WA', 'KHP', 'KWP', 'C0H', 'C0W', 'FIRST'] as const;
  const values = (p: InputGradPhase) => [p.ph, p.pw, p.h0, p.w0, p.rowsH, p.rowsW, p.tapsH, p.tapsW, p.c0h, p.c0w, p.firstTile];
  const typeOf = (name: string) => (name === 'C0H' || name === 'C0W' ? 'i32' : 'u32');
  const literal = (name: string, v: number) => (typeOf(name) === 'u32' ? `${v}u` : `${v}`);
  const phaseDeclarations = single !== null
    ? names.map((n, k) => `const ${n}: ${typeOf(n)} = ${literal(n, values(single)[k]!)};`).join('\n')
    : names.map((n) => `var<private> ${n}: ${typeOf(n)};`).join('\n');
  const setPhase = single !== null
    ? ''
    : phases
        .map((p, k) => `${k === 0 ? '' : 'else '}if (wid.y < ${p.firstTile + p.tiles}u) { ${names.map((n, i) => `${n} = ${literal(n, values(p)[i]!)};`).join(' ')} }`)
        .join('\n  ');
  // What bounds the loops around workgroupBarrier must be provably uniform: a function of wid.y
  // alone, not a read of the private variables (WGSL's uniformity analysis rejects those).
  const perPhase = (name: string, value: (p: InputGradPhase) => number) =>
    `fn ${name}(t: u32) -> u32 {\n${phases.map((p) => `  if (t < ${p.firstTile + p.tiles}u) { return ${value(p)}u; }`).join('\n')}\n  return 0u;\n}`;
  const uniformFns = [
    perPhase('phaseRows', (p) => g.batch * p.rowsH * p.rowsW),
    perPhase('phaseFirst', (p) => p.firstTile),
    perPhase('phaseReduce', (p) => p.tapsH * p.tapsW * g.outChannels),
  ].join('\n');
  const ops: GemmOperands = {
    declarations: `${geometryConstants(g)}
const H_U: u32 = ${g.inHeight}u;
const W_U: u32 = ${g.inWidth}u;
${phaseDeclarations}
${uniformFns}`,
    setup: `${setPhase}
  let rows = phaseRows(wid.y);
  let row0 = (wid.y - phaseFirst(wid.y)) * TM;
  let rBegin = 0u;
  let rEnd = phaseReduce(wid.y);`,
    // Row i of the phase: (n, a, b) with h = H0 + SH·a, w = W0 + SW·b. Reduction r: (k, l, co), kh = PH + SH·k.
    loadA: `fn loadA(i: u32, r: u32) -> f32 {
  let n = i / (HA * WA);
  let s = i % (HA * WA);
  let k = i32(r / (KWP * CO));
  let t = r % (KWP * CO);
  let oh = C0H + i32(s / WA) - k;
  let ow = C0W + i32(s % WA) - i32(t / CO);
  if (oh < 0 || oh >= HO || ow < 0 || ow >= WO) { return 0.0; }
  return dy[((n * u32(HO) + u32(oh)) * u32(WO) + u32(ow)) * CO + t % CO];
}`,
    loadB: `fn loadB(r: u32, j: u32) -> f32 {
  let t = r % (KWP * CO);
  let kh = PH + u32(SH) * (r / (KWP * CO));
  let kw = PW + u32(SW) * (t / CO);
  return w[((kh * KW + kw) * CI + j) * CO + t % CO];
}`,
    store: `fn store(slice: u32, i: u32, j: u32, v: f32) {
  let n = i / (HA * WA);
  let s = i % (HA * WA);
  let h = H0 + u32(SH) * (s / WA);
  let x = W0 + u32(SW) * (s % WA);
  let at = ((n * H_U + h) * W_U + x) * CI + j;
  out[at] = v${accumulate ? ' + addend[at]' : ''};
}`,
    aContiguousInR: true,
    bContiguousInJ: false,
  };
  const reduce = g.filterHeight * g.filterWidth * g.outChannels;
  const bindings = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;${accumulate ? '\n@group(0) @binding(3) var<storage, read> addend: array<f32>;' : ''}`;
  return gemmKernel({ rows, cols: g.inChannels, reduce, chunk: reduce }, tiles, ops, bindings);
}
