/**
 * WGSL for training-mode BatchNorm over an NHWC tensor viewed as M = N·H·W rows of C channels,
 * three dispatches per direction:
 *
 * forward   1. per-channel partial sums over row chunks: Σ(x − s_c), Σ(x − s_c)² with the shift
 *              s_c = x[0, c] (a value of the channel, so the sums stay small relative to the spread
 *              and E[(x−s)²] − E[x−s]² does not cancel when |mean| ≫ σ; the partials just add up)
 *           2. per channel: mean, 1/σ, and the new running statistics (PyTorch's momentum rule with
 *              the unbiased variance) — so `updateRunningStats` costs no kernel at all
 *           3. y = (x − μ)·γ/σ + β [+ residual] [ReLU], four channels per thread when C % 4 = 0
 * backward  1. partial sums of u and u·(x − μ), u = dy [· (y > 0) after a ReLU]
 *           2. dβ = Σu, dγ = Σu·x̂ and the per-channel coefficients of dx
 *           3. dx = k·u + a·(x − μ) + b  [and u itself, the residual input's gradient]
 * with k = γ/σ, a = −k·dγ/(M·σ), b = −k·dβ/M: the closed form dx = γ/σ·(u − mean(u) − x̂·mean(u·x̂)).
 */

/** Geometry of a BatchNorm call: rows M = N·H·W, channels C, and how the partial sums are split. */
export interface BnPlan {
  readonly rows: number;
  readonly channels: number;
  /** Channels per workgroup of the partial-sum pass (all of them up to 64). */
  readonly channelBlock: number;
  /** Row chunks (workgroups along x) of the partial-sum pass. */
  readonly chunks: number;
  readonly rowsPerChunk: number;
  /** Whether the element-wise pass handles four channels per thread. */
  readonly vec4: boolean;
}

const WG = 256;
const MAX_CHANNEL_BLOCK = 64;
const MIN_ROWS_PER_CHUNK = 64;

/** Plan the passes for M rows and C channels, aiming at about `targetWorkgroups` partial-sum workgroups. */
export function planBatchNorm(rows: number, channels: number, targetWorkgroups = 512): BnPlan {
  const channelBlock = Math.min(channels, MAX_CHANNEL_BLOCK);
  const blocks = Math.ceil(channels / channelBlock);
  const chunks = Math.max(1, Math.min(Math.ceil(targetWorkgroups / blocks), Math.ceil(rows / MIN_ROWS_PER_CHUNK)));
  const rowsPerChunk = Math.ceil(rows / chunks);
  return { rows, channels, channelBlock, chunks: Math.ceil(rows / rowsPerChunk), rowsPerChunk, vec4: channels % 4 === 0 };
}

function planConstants(p: BnPlan): string {
  return `const M: u32 = ${p.rows}u;
const C: u32 = ${p.channels}u;
const CB: u32 = ${p.channelBlock}u;
const LANES: u32 = ${Math.floor(WG / p.channelBlock)}u;
const ROWS_PER_CHUNK: u32 = ${p.rowsPerChunk}u;
const CHUNKS: u32 = ${p.chunks}u;`;
}

/**
 * Partial sums pass (shared by both directions): workgroup (g, b) sums rows of chunk g for the
 * channels of block b; `first(r, c)` and `second(r, c)` are the two summed quantities.
 * Output `part[(g·2 + q)·C + c]`.
 */
function partialSums(p: BnPlan, bindings: string, helpers: string): string {
  return `${bindings}
${planConstants(p)}
var<workgroup> s1: array<f32, ${WG}>;
var<workgroup> s2: array<f32, ${WG}>;
${helpers}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let cl = lid % CB;
  let lane = lid / CB;
  let c = wid.y * CB + cl;
  var a = 0.0;
  var b = 0.0;
  if (lane < LANES && c < C) {
    let r0 = wid.x * ROWS_PER_CHUNK;
    let r1 = min(M, r0 + ROWS_PER_CHUNK);
    for (var r = r0 + lane; r < r1; r += LANES) {
      a += first(r, c);
      b += second(r, c);
    }
  }
  s1[lid] = a;
  s2[lid] = b;
  workgroupBarrier();
  if (lane == 0u && c < C) {
    for (var l = 1u; l < LANES; l++) {
      a += s1[l * CB + cl];
      b += s2[l * CB + cl];
    }
    part[(wid.x * 2u) * C + c] = a;
    part[(wid.x * 2u + 1u) * C + c] = b;
  }
}`;
}

/** Forward pass 1: bindings part (w), x (r). */
export function bnForwardSumsWgsl(p: BnPlan): string {
  return partialSums(
    p,
    `@group(0) @binding(0) var<storage, read_write> part: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;`,
    `fn first(r: u32, c: u32) -> f32 { return x[r * C + c] - x[c]; }
fn second(r: u32, c: u32) -> f32 { let d = x[r * C + c] - x[c]; return d * d; }`,
  );
}

/** The two per-channel sums of pass 1, totalled over its row chunks (`part` = [chunk][first, second][C]). */
const CHUNK_TOTALS = `fn chunkTotals(c: u32) -> vec2<f32> {
  var t = vec2<f32>(0.0);
  for (var g = 0u; g < CHUNKS; g++) {
    t += vec2<f32>(part[(g * 2u) * C + c], part[(g * 2u + 1u) * C + c]);
  }
  return t;
}`;

/** Forward pass 2: bindings stats, runningMeanOut, runningVarOut (w); part, x, runningMean, runningVar (r). */
export function bnForwardStatsWgsl(p: BnPlan, eps: number, momentum: number): string {
  return `@group(0) @binding(0) var<storage, read_write> stats: array<f32>;
@group(0) @binding(1) var<storage, read_write> rmOut: array<f32>;
@group(0) @binding(2) var<storage, read_write> rvOut: array<f32>;
@group(0) @binding(3) var<storage, read> part: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> rm: array<f32>;
@group(0) @binding(6) var<storage, read> rv: array<f32>;
${planConstants(p)}
${CHUNK_TOTALS}
const EPS: f32 = ${f32(eps)};
const MOMENTUM: f32 = ${f32(momentum)};
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= C) { return; }
  let sums = chunkTotals(c);
  let a = sums.x;
  let b = sums.y;
  let shifted = a / f32(M);
  let variance = max(0.0, b / f32(M) - shifted * shifted);
  let mean = x[c] + shifted;
  stats[c] = mean;
  stats[C + c] = 1.0 / sqrt(variance + EPS);
  rmOut[c] = rm[c] * (1.0 - MOMENTUM) + mean * MOMENTUM;
  rvOut[c] = rv[c] * (1.0 - MOMENTUM) + variance * (f32(M) / f32(M - 1u)) * MOMENTUM;
}`;
}

/** Forward pass 3: bindings y (w); x, gamma, beta, stats[, residual] (r). */
export function bnForwardApplyWgsl(p: BnPlan, relu: boolean, residual: boolean): string {
  const v = p.vec4 ? 4 : 1;
  const t = v === 4 ? 'vec4<f32>' : 'f32';
  const ch = (name: string) => (v === 4 ? `vec4<f32>(${name}[c], ${name}[c + 1u], ${name}[c + 2u], ${name}[c + 3u])` : `${name}[c]`);
  return `@group(0) @binding(0) var<storage, read_write> y: array<${t}>;
@group(0) @binding(1) var<storage, read> x: array<${t}>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;
${residual ? `@group(0) @binding(5) var<storage, read> res: array<${t}>;` : ''}
${planConstants(p)}
const COUNT: u32 = ${(p.rows * p.channels) / v}u;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + (gid.y + gid.z * nwg.y) * nwg.x * ${WG}u;
  if (i >= COUNT) { return; }
  let c = (i * ${v}u) % C;
  let mean = ${v === 4 ? 'vec4<f32>(stats[c], stats[c + 1u], stats[c + 2u], stats[c + 3u])' : 'stats[c]'};
  let inv = ${v === 4 ? 'vec4<f32>(stats[C + c], stats[C + c + 1u], stats[C + c + 2u], stats[C + c + 3u])' : 'stats[C + c]'};
  var out = (x[i] - mean) * (${ch('gamma')} * inv) + ${ch('beta')};
  ${residual ? 'out += res[i];' : ''}
  ${relu ? `out = max(out, ${t}(0.0));` : ''}
  y[i] = out;
}`;
}

/** Backward pass 1: bindings part (w); dy, x, stats[, y] (r). */
export function bnBackwardSumsWgsl(p: BnPlan, relu: boolean): string {
  return partialSums(
    p,
    `@group(0) @binding(0) var<storage, read_write> part: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
${relu ? '@group(0) @binding(4) var<storage, read> y: array<f32>;' : ''}`,
    `fn upstream(i: u32) -> f32 { ${relu ? 'return select(0.0, dy[i], y[i] > 0.0);' : 'return dy[i];'} }
fn first(r: u32, c: u32) -> f32 { return upstream(r * C + c); }
fn second(r: u32, c: u32) -> f32 { return upstream(r * C + c) * (x[r * C + c] - stats[c]); }`,
  );
}

/** Backward pass 2: bindings dgamma, dbeta, coef (w); part, gamma, stats (r). coef = [k, a, b] per channel. */
export function bnBackwardCoefWgsl(p: BnPlan): string {
  return `@group(0) @binding(0) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(1) var<storage, read_write> dbeta: array<f32>;
@group(0) @binding(2) var<storage, read_write> coef: array<f32>;
@group(0) @binding(3) var<storage, read> part: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
${planConstants(p)}
${CHUNK_TOTALS}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= C) { return; }
  let sums = chunkTotals(c);
  let a = sums.x;
  let b = sums.y;
  let inv = stats[C + c];
  let dg = b * inv;
  dbeta[c] = a;
  dgamma[c] = dg;
  let k = gamma[c] * inv;
  coef[c] = k;
  coef[C + c] = -k * inv * dg / f32(M);
  coef[2u * C + c] = -k * a / f32(M);
}`;
}

/** Backward pass 3: bindings dx[, dres] (w); dy, x, stats, coef[, y] (r). */
export function bnBackwardApplyWgsl(p: BnPlan, relu: boolean, residualGrad: boolean): string {
  const writes = residualGrad ? ['dx', 'dres'] : ['dx'];
  const reads = relu ? ['dy', 'x', 'stats', 'coef', 'y'] : ['dy', 'x', 'stats', 'coef'];
  const decl = [...writes.map((n, i) => `@group(0) @binding(${i}) var<storage, read_write> ${n}: array<f32>;`), ...reads.map((n, i) => `@group(0) @binding(${writes.length + i}) var<storage, read> ${n}: array<f32>;`)];
  return `${decl.join('\n')}
${planConstants(p)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + (gid.y + gid.z * nwg.y) * nwg.x * ${WG}u;
  if (i >= M * C) { return; }
  let c = i % C;
  ${relu ? 'let u = select(0.0, dy[i], y[i] > 0.0);' : 'let u = dy[i];'}
  dx[i] = coef[c] * u + coef[C + c] * (x[i] - stats[c]) + coef[2u * C + c];
  ${residualGrad ? 'dres[i] = u;' : ''}
}`;
}

/** Workgroups of 256 threads that the element-wise passes need. */
export function elementWorkgroups(p: BnPlan, perThread: number): number {
  return Math.ceil((p.rows * p.channels) / perThread / WG);
}

/** A number as a WGSL f32 literal that survives the round trip. */
function f32(value: number): string {
  const v = Math.fround(value);
  return Number.isInteger(v) ? `${v}.0` : v.toExponential(9);
}
