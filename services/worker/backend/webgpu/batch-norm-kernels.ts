/**
 * Fused training-mode BatchNorm (+ residual add, + ReLU) as two kernels, forward and backward,
 * for the webgpu backend (WGSL in batch-norm-wgsl.ts), plus cpu versions of both: the kernel audit
 * reruns every webgpu kernel on cpu, and the tests check the webgpu kernels against them and them
 * against the layers' own tf-ops BatchNorm.
 *
 * `EncourageBatchNormForward`  inputs x, gamma, beta, runningMean, runningVar[, residual];
 *   attrs eps, momentum, relu → [y, stats = [mean; 1/σ] (2×C), new runningMean, new runningVar]
 * `EncourageBatchNormBackward` inputs dy, x, gamma, stats[, y (with relu)]; attrs relu, residualGrad
 *   → [dx, dγ, dβ[, u]] where u = dy·(y > 0) (or dy) is the gradient of the residual input.
 * The models' BatchNorm layer replaces ~40 tfjs ops per layer and step with these two kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  bnBackwardApplyWgsl,
  bnBackwardCoefWgsl,
  bnBackwardSumsWgsl,
  bnForwardApplyWgsl,
  bnForwardStatsWgsl,
  bnForwardSumsWgsl,
  elementWorkgroups,
  planBatchNorm,
  type BnPlan,
} from './batch-norm-wgsl.js';
import { allocate, backendInternals, dispatch, grid, release } from './program-runner.js';

/** Kernel name of the fused training-mode BatchNorm forward (see the module comment for inputs and outputs). */
export const BATCH_NORM_FORWARD = 'EncourageBatchNormForward';
/** Kernel name of its backward. */
export const BATCH_NORM_BACKWARD = 'EncourageBatchNormBackward';

/** Attributes of {@link BATCH_NORM_FORWARD}. */
export interface BatchNormForwardAttrs {
  readonly eps: number;
  readonly momentum: number;
  readonly relu: boolean;
}

/** Attributes of {@link BATCH_NORM_BACKWARD}. */
export interface BatchNormBackwardAttrs {
  readonly relu: boolean;
  readonly residualGrad: boolean;
}

function planKey(p: BnPlan): string {
  return `${p.rows}x${p.channels}x${p.chunks}`;
}

type Inputs = Record<string, tf.TensorInfo | undefined>;

function required(inputs: Inputs, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (t === undefined) throw new Error(`BatchNorm kernel: missing input ${name}`);
  return t;
}

/** webgpu forward: partial sums, statistics + running statistics, normalisation (3 dispatches). */
export const batchNormForwardWebGpu: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = backendInternals(b);
  const { eps, momentum, relu } = attrs as unknown as BatchNormForwardAttrs;
  const ins = inputs as Inputs;
  const [x, gamma, beta, rm, rv] = ['x', 'gamma', 'beta', 'runningMean', 'runningVar'].map((n) => required(ins, n)) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const residual = ins['residual'];
  const c = x.shape[x.shape.length - 1]!;
  const p = planBatchNorm(tf.util.sizeFromShape(x.shape) / c, c);
  const key = planKey(p);
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension;
  const part = allocate(backend, [p.chunks, 2, c]);
  dispatch(backend, { key: `bnf1-${key}`, wgsl: () => bnForwardSumsWgsl(p), writes: 1, reads: 1, uniform: false, label: 'EncourageBnSums' }, [part], [x], [p.chunks, Math.ceil(c / p.channelBlock), 1]);
  const stats = allocate(backend, [2, c]);
  const rmOut = allocate(backend, [c]);
  const rvOut = allocate(backend, [c]);
  dispatch(
    backend,
    { key: `bnf2-${key}-${eps}-${momentum}`, wgsl: () => bnForwardStatsWgsl(p, eps, momentum), writes: 3, reads: 4, uniform: false, label: 'EncourageBnStats' },
    [stats, rmOut, rvOut], [part, x, rm, rv], [Math.ceil(c / 64), 1, 1],
  );
  release(backend, part);
  const y = allocate(backend, [...x.shape]);
  const reads = residual === undefined ? [x, gamma, beta, stats] : [x, gamma, beta, stats, residual];
  dispatch(
    backend,
    { key: `bnf3-${key}-${relu}-${residual !== undefined}`, wgsl: () => bnForwardApplyWgsl(p, relu, residual !== undefined), writes: 1, reads: reads.length, uniform: false, label: 'EncourageBnApply' },
    [y], reads, grid(elementWorkgroups(p, p.vec4 ? 4 : 1), limit),
  );
  return [y, stats, rmOut, rvOut];
};

/** webgpu backward: partial sums, dγ/dβ + coefficients, dx [+ u] (3 dispatches). */
export const batchNormBackwardWebGpu: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = backendInternals(b);
  const { relu, residualGrad } = attrs as unknown as BatchNormBackwardAttrs;
  const ins = inputs as Inputs;
  const [dy, x, gamma, stats] = ['dy', 'x', 'gamma', 'stats'].map((n) => required(ins, n)) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const y = relu ? required(ins, 'y') : null;
  const c = x.shape[x.shape.length - 1]!;
  const p = planBatchNorm(tf.util.sizeFromShape(x.shape) / c, c);
  const key = planKey(p);
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension;
  const part = allocate(backend, [p.chunks, 2, c]);
  dispatch(
    backend,
    { key: `bnb1-${key}-${relu}`, wgsl: () => bnBackwardSumsWgsl(p, relu), writes: 1, reads: relu ? 4 : 3, uniform: false, label: 'EncourageBnGradSums' },
    [part], y === null ? [dy, x, stats] : [dy, x, stats, y], [p.chunks, Math.ceil(c / p.channelBlock), 1],
  );
  const dgamma = allocate(backend, [c]);
  const dbeta = allocate(backend, [c]);
  const coef = allocate(backend, [3, c]);
  dispatch(backend, { key: `bnb2-${key}`, wgsl: () => bnBackwardCoefWgsl(p), writes: 3, reads: 3, uniform: false, label: 'EncourageBnGradCoef' }, [dgamma, dbeta, coef], [part, gamma, stats], [Math.ceil(c / 64), 1, 1]);
  release(backend, part);
  const dx = allocate(backend, [...x.shape]);
  const dres = residualGrad ? allocate(backend, [...x.shape]) : null;
  const reads = y === null ? [dy, x, stats, coef] : [dy, x, stats, coef, y];
  dispatch(
    backend,
    { key: `bnb3-${key}-${relu}-${residualGrad}`, wgsl: () => bnBackwardApplyWgsl(p, relu, residualGrad), writes: dres === null ? 1 : 2, reads: reads.length, uniform: false, label: 'EncourageBnGradApply' },
    dres === null ? [dx] : [dx, dres], reads, grid(elementWorkgroups(p, 1), limit),
  );
  release(backend, coef);
  return dres === null ? [dx, dgamma, dbeta] : [dx, dgamma, dbeta, dres];
};

interface CpuBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

function read(backend: CpuBackend, t: tf.TensorInfo): Float32Array {
  return backend.readSync(t.dataId) as Float32Array;
}

/** cpu forward in float64 (two-pass variance): the reference of the webgpu kernel. */
export const batchNormForwardCpu: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as unknown as CpuBackend;
  const { eps, momentum, relu } = attrs as unknown as BatchNormForwardAttrs;
  const ins = inputs as Inputs;
  const x = required(ins, 'x');
  const [xv, gv, bv, rmv, rvv] = ['x', 'gamma', 'beta', 'runningMean', 'runningVar'].map((n) => read(backend, required(ins, n))) as Float32Array[];
  const rv = ins['residual'] === undefined ? null : read(backend, ins['residual']);
  const c = x.shape[x.shape.length - 1]!;
  const m = xv!.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < xv!.length; i++) mean[i % c]! += xv![i]!;
  for (let k = 0; k < c; k++) mean[k]! /= m;
  for (let i = 0; i < xv!.length; i++) variance[i % c]! += (xv![i]! - mean[i % c]!) ** 2;
  for (let k = 0; k < c; k++) variance[k]! /= m;
  const inv = variance.map((v) => 1 / Math.sqrt(v + eps));
  const y = new Float32Array(xv!.length);
  for (let i = 0; i < y.length; i++) {
    const k = i % c;
    let v = (xv![i]! - mean[k]!) * inv[k]! * gv![k]! + bv![k]!;
    if (rv !== null) v += rv[i]!;
    y[i] = relu ? Math.max(0, v) : v;
  }
  const stats = new Float32Array(2 * c);
  stats.set(mean);
  stats.set(inv, c);
  const rmOut = Float32Array.from(mean, (mu, k) => rmv![k]! * (1 - momentum) + mu * momentum);
  const rvOut = Float32Array.from(variance, (v, k) => rvv![k]! * (1 - momentum) + (v * m) / (m - 1) * momentum);
  return [backend.makeTensorInfo([...x.shape], 'float32', y), backend.makeTensorInfo([2, c], 'float32', stats), backend.makeTensorInfo([c], 'float32', rmOut), backend.makeTensorInfo([c], 'float32', rvOut)];
};

/** cpu backward in float64: the closed form dx = γ/σ·(u − mean(u) − x̂·mean(u·x̂)). */
export const batchNormBackwardCpu: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as unknown as CpuBackend;
  const { relu, residualGrad } = attrs as unknown as BatchNormBackwardAttrs;
  const ins = inputs as Inputs;
  const x = required(ins, 'x');
  const [dyv, xv, gv, sv] = ['dy', 'x', 'gamma', 'stats'].map((n) => read(backend, required(ins, n))) as Float32Array[];
  const yv = relu ? read(backend, required(ins, 'y')) : null;
  const c = x.shape[x.shape.length - 1]!;
  const m = xv!.length / c;
  const u = Float32Array.from(dyv!, (d, i) => (yv !== null && !(yv[i]! > 0) ? 0 : d));
  const sumU = new Float64Array(c);
  const sumUX = new Float64Array(c);
  for (let i = 0; i < u.length; i++) {
    const k = i % c;
    sumU[k]! += u[i]!;
    sumUX[k]! += u[i]! * (xv![i]! - sv![k]!) * sv![c + k]!;
  }
  const dx = new Float32Array(u.length);
  for (let i = 0; i < u.length; i++) {
    const k = i % c;
    const xhat = (xv![i]! - sv![k]!) * sv![c + k]!;
    dx[i] = gv![k]! * sv![c + k]! * (u[i]! - sumU[k]! / m - (xhat * sumUX[k]!) / m);
  }
  const outs = [
    backend.makeTensorInfo([...x.shape], 'float32', dx),
    backend.makeTensorInfo([c], 'float32', Float32Array.from(sumUX)),
    backend.makeTensorInfo([c], 'float32', Float32Array.from(sumU)),
  ];
  if (residualGrad) outs.push(backend.makeTensorInfo([...x.shape], 'float32', u));
  return outs;
};
