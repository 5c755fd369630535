/**
 * One SGD-with-momentum step for a group of parameter tensors in one dispatch (a multi-tensor
 * update): `EncourageSgdStep` takes p0, g0, m0, p1, g1, m1, … and returns p0', m0', p1', m1', ….
 * With the tf ops of `DeviceSgd` an update is ~6 element-wise kernels per parameter tensor (~390 for
 * ResNet-20's 65 tensors); grouped, it is one kernel per group, as many tensors per group as the
 * device's storage-buffer bindings allow (16 on Dawn: 3 tensors with momentum, 5 without).
 *
 * The maths is `FlatSgd`'s (torch.optim.SGD, dampening 0), per element:
 *   d = g [+ wd·p];  b = first ? d : m·buf + d;  d = nesterov ? d + m·b : b;  p' = p − lr·d.
 * The cpu version rounds every step to float32 in that order, so it equals `FlatSgd` bit for bit;
 * the webgpu one may contract a multiply-add into an FMA (no bit-for-bit promise on GPUs).
 * The learning rate is the only per-call value (a uniform); the rest are shader constants.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backendInternals, allocate, dispatch, grid, type ProgramSpec } from './program-runner.js';

/** Kernel name of the grouped SGD step. */
export const SGD_STEP = 'EncourageSgdStep';

/** Attributes of {@link SGD_STEP}. */
export interface SgdStepAttrs {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  /** PyTorch initialises the momentum buffer with d on the first step. */
  readonly first: boolean;
  /** Per tensor of the group: whether weight decay applies. */
  readonly decay: readonly boolean[];
}

/** Storage bindings one tensor of a group needs: p, g (and m) read, p' (and m') written. */
export function bindingsPerTensor(momentum: number): number {
  return momentum === 0 ? 3 : 5;
}

/** Input names of tensor `slot`, in the order the kernel binds them. */
export function slotInputs(slot: number, momentum: number): string[] {
  return momentum === 0 ? [`p${slot}`, `g${slot}`] : [`p${slot}`, `g${slot}`, `m${slot}`];
}

function literal(v: number): string {
  const f = Math.fround(v);
  return Number.isInteger(f) ? `${f}.0` : f.toExponential(9);
}

function sgdWgsl(sizes: readonly number[], a: SgdStepAttrs): string {
  const withMomentum = a.momentum !== 0;
  const decls: string[] = [];
  let binding = 0;
  sizes.forEach((_, s) => {
    decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> pOut${s}: array<f32>;`);
    if (withMomentum) decls.push(`@group(0) @binding(${binding++}) var<storage, read_write> mOut${s}: array<f32>;`);
  });
  sizes.forEach((_, s) => {
    for (const name of slotInputs(s, a.momentum)) decls.push(`@group(0) @binding(${binding++}) var<storage, read> ${name}: array<f32>;`);
  });
  decls.push(`struct Uniforms { lr: f32 };\n@group(0) @binding(${binding}) var<uniform> u: Uniforms;`);
  let begin = 0;
  const branches = sizes.map((size, s) => {
    const end = begin + size;
    const decayed = a.decay[s] === true && a.weightDecay !== 0;
    const body = [
      `let j = i - ${begin}u;`,
      `let p = p${s}[j];`,
      decayed ? `var d = g${s}[j] + WD * p;` : `var d = g${s}[j];`,
      ...(withMomentum
        ? [a.first ? 'let b = d;' : `let b = M * m${s}[j] + d;`, `mOut${s}[j] = b;`, a.nesterov ? 'd = d + M * b;' : 'd = b;']
        : []),
      `pOut${s}[j] = p - u.lr * d;`,
    ].join(' ');
    const branch = `${s === 0 ? '' : 'else '}if (i < ${end}u) { ${body} }`;
    begin = end;
    return branch;
  });
  return `${decls.join('\n')}
const M: f32 = ${literal(a.momentum)};
const WD: f32 = ${literal(a.weightDecay)};
const TOTAL: u32 = ${begin}u;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + (gid.y + gid.z * nwg.y) * nwg.x * 256u;
  if (i >= TOTAL) { return; }
  ${branches.join('\n  ')}
}`;
}

function slots(inputs: tf.NamedTensorInfoMap, momentum: number): tf.TensorInfo[][] {
  const out: tf.TensorInfo[][] = [];
  for (let s = 0; `p${s}` in inputs; s++) {
    out.push(slotInputs(s, momentum).map((n) => {
      const t = inputs[n];
      if (t === undefined) throw new Error(`${SGD_STEP}: missing input ${n}`);
      return t;
    }));
  }
  if (out.length === 0) throw new Error(`${SGD_STEP}: no parameters`);
  return out;
}

/** webgpu: the whole group in one dispatch. */
export const sgdStepWebGpu: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = backendInternals(b);
  const a = attrs as unknown as SgdStepAttrs;
  const group = slots(inputs, a.momentum);
  const sizes = group.map(([p]) => tf.util.sizeFromShape(p!.shape));
  const outputs: tf.TensorInfo[] = [];
  for (const [p] of group) {
    outputs.push(allocate(backend, [...p!.shape]));
    if (a.momentum !== 0) outputs.push(allocate(backend, [...p!.shape]));
  }
  const spec: ProgramSpec = {
    key: `sgd-${sizes.join(',')}-${a.momentum}-${a.weightDecay}-${a.nesterov}-${a.first}-${a.decay.join(',')}`, wgsl: () => sgdWgsl(sizes, a), writes: outputs.length, reads: group.flat().length, uniform: true, label: 'EncourageSgdStep' };
  const total = sizes.reduce((s, n) => s + n, 0);
  dispatch(backend, spec, outputs, group.flat(), grid(Math.ceil(total / 256), backend.device.limits.maxComputeWorkgroupsPerDimension), new Float32Array([a.lr]).buffer);
  return outputs;
};

/** cpu: `FlatSgd`'s float32-rounded arithmetic, tensor by tensor. */
export const sgdStepCpu: tf.KernelFunc = ({ inputs, backend: b, attrs }) => {
  const backend = b as unknown as { readSync(id: object): Float32Array; makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo };
  const a = attrs as unknown as SgdStepAttrs;
  const f = Math.fround;
  const m = f(a.momentum);
  const wd = f(a.weightDecay);
  const lr = f(a.lr);
  const outputs: tf.TensorInfo[] = [];
  for (const [s, [p, g, buf]] of slots(inputs, a.momentum).entries()) {
    const pv = backend.readSync(p!.dataId);
    const gv = backend.readSync(g!.dataId);
    const bv = buf === undefined ? null : backend.readSync(buf.dataId);
    const pOut = new Float32Array(pv.length);
    const mOut = new Float32Array(pv.length);
    const decayed = a.decay[s] === true && wd !== 0;
    for (let i = 0; i < pv.length; i++) {
      let d = decayed ? f(gv[i]! + f(wd * pv[i]!)) : gv[i]!;
      if (bv !== null) {
        const nb = a.first ? d : f(f(m * bv[i]!) + d);
        mOut[i] = nb;
        d = a.nesterov ? f(d + f(m * nb)) : nb;
      }
      pOut[i] = f(pv[i]! - f(lr * d));
    }
    outputs.push(backend.makeTensorInfo([...p!.shape], 'float32', pOut));
    if (bv !== null) outputs.push(backend.makeTensorInfo([...p!.shape], 'float32', mOut));
  }
  return outputs;
};
