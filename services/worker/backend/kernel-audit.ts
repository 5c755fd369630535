/**
 * Checks a backend kernel by kernel against the `cpu` backend: while installed, every kernel the
 * audited backend runs is recorded with its inputs, attributes and outputs (their device data kept
 * alive); `check()` then reads them back, reruns each kernel on `cpu` from the very same inputs and
 * compares the outputs. A whole training step audited this way pins a wrong result to the one
 * kernel that produced it, whatever the model — the method docs/performance.md uses for wasm,
 * applied to every kernel the step dispatches (tests run it for webgpu on every model).
 * Where the cpu kernel is too slow for whole steps, a direct-summation host reference stands in
 * for it (reference-kernels.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { REFERENCE_KERNELS } from './reference-kernels.js';

interface AuditedBackend {
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  read(dataId: object): Promise<tf.backend_util.BackendValues>;
}

interface CpuBackend {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  readSync(dataId: object): tf.backend_util.BackendValues;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** One kernel call as the audited backend ran it. */
interface KernelRecord {
  readonly kernelName: string;
  readonly inputs: ReadonlyArray<readonly [string, tf.TensorInfo]>;
  /** Concat, AddN, Pack… take their inputs as an array, not by name. */
  readonly inputsAreArray: boolean;
  readonly attrs: tf.NamedAttrMap | undefined;
  readonly outputs: readonly tf.TensorInfo[];
}

/** A kernel whose output differed from the cpu backend's (or that cpu cannot run). */
export interface KernelMismatch {
  readonly kernelName: string;
  /** Position of the call among the recorded ones. */
  readonly call: number;
  readonly inputShapes: readonly number[][];
  /** max |out − cpu| / max(|cpu|); Infinity for shape, dtype or finiteness mismatches. */
  readonly relError: number;
  readonly detail: string;
}

export interface AuditReport {
  /** Kernel calls checked, by kernel name. */
  readonly calls: ReadonlyMap<string, number>;
  readonly mismatches: readonly KernelMismatch[];
}

export class KernelAudit {
  private readonly records: KernelRecord[] = [];
  private readonly originals: tf.KernelConfig[];
  private installed = true;

  private constructor(private readonly backendName: string) {
    this.originals = tf.getKernelsForBackend(backendName);
    for (const original of this.originals) {
      tf.unregisterKernel(original.kernelName, backendName);
      tf.registerKernel({ ...original, kernelFunc: (params) => this.run(original, params) });
    }
  }

  /** Start recording every kernel `backendName` runs (until {@link uninstall}). */
  static install(backendName: string): KernelAudit {
    return new KernelAudit(backendName);
  }

  /** Number of kernel calls recorded so far. */
  get size(): number {
    return this.records.length;
  }

  private run(original: tf.KernelConfig, params: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
    const out = original.kernelFunc(params);
    if (this.installed) {
      const backend = params.backend as AuditedBackend;
      // Snapshots: an input may be a Variable, whose dataId moves when it is assigned later.
      const snap = (t: tf.TensorInfo): tf.TensorInfo => ({ dataId: t.dataId, shape: [...t.shape], dtype: t.dtype });
      const inputs = Object.entries(params.inputs)
        .filter((e): e is [string, tf.TensorInfo] => e[1] !== undefined)
        .map(([name, t]) => [name, snap(t)] as [string, tf.TensorInfo]);
      const outputs = (Array.isArray(out) ? out : [out]).map(snap);
      // Keep the data alive past the engine's own disposal; released in check().
      for (const t of [...inputs.map(([, t]) => t), ...outputs]) backend.incRef(t.dataId);
      this.records.push({ kernelName: original.kernelName, inputs, inputsAreArray: Array.isArray(params.inputs), attrs: params.attrs === undefined ? undefined : { ...params.attrs }, outputs });
    }
    return out;
  }

  /** Put the backend's own kernels back (recorded calls stay available to {@link check}). */
  uninstall(): void {
    if (!this.installed) return;
    this.installed = false;
    for (const original of this.originals) {
      tf.unregisterKernel(original.kernelName, this.backendName);
      tf.registerKernel(original);
    }
  }

  /**
   * Rerun every recorded call on `cpu` from the same inputs and compare; releases the kept data.
   * @param relTolerance largest accepted max |out − cpu| / max(|cpu|) for float outputs (integer
   *   and boolean outputs must match exactly).
   */
  async check(relTolerance: number): Promise<AuditReport> {
    this.uninstall();
    const audited = tf.findBackend(this.backendName) as unknown as AuditedBackend;
    const cpu = tf.findBackend('cpu') as unknown as CpuBackend;
    const values = new Map<object, Promise<tf.backend_util.BackendValues>>();
    const valueOf = (t: tf.TensorInfo) => {
      let v = values.get(t.dataId);
      if (v === undefined) {
        v = audited.read(t.dataId);
        values.set(t.dataId, v);
      }
      return v;
    };
    const calls = new Map<string, number>();
    const mismatches: KernelMismatch[] = [];
    try {
      for (const [call, rec] of this.records.entries()) {
        calls.set(rec.kernelName, (calls.get(rec.kernelName) ?? 0) + 1);
        const mismatch = await this.recompute(rec, cpu, valueOf, relTolerance);
        if (mismatch !== null) mismatches.push({ kernelName: rec.kernelName, call, inputShapes: rec.inputs.map(([, t]) => [...t.shape]), ...mismatch });
      }
    } finally {
      for (const rec of this.records) for (const t of [...rec.inputs.map(([, t]) => t), ...rec.outputs]) audited.disposeData(t.dataId);
      this.records.length = 0;
    }
    return { calls, mismatches };
  }

  private async recompute(
    rec: KernelRecord,
    cpu: CpuBackend,
    valueOf: (t: tf.TensorInfo) => Promise<tf.backend_util.BackendValues>,
    relTolerance: number,
  ): Promise<{ relError: number; detail: string } | null> {
    const reference = REFERENCE_KERNELS[rec.kernelName];
    if (reference !== undefined && rec.outputs.length === 1) {
      const inputs = new Map<string, { shape: readonly number[]; values: ArrayLike<number> }>();
      for (const [name, t] of rec.inputs) inputs.set(name, { shape: t.shape, values: (await valueOf(t)) as ArrayLike<number> });
      const ref = reference({ inputs, attrs: rec.attrs ?? {} });
      if (ref !== null) {
        const out = rec.outputs[0]!;
        if (!tf.util.arraysEqual(out.shape, ref.shape)) return { relError: Infinity, detail: `output [${out.shape.join(',')}], reference [${ref.shape.join(',')}]` };
        const values = (await valueOf(out)) as ArrayLike<number>;
        const err = 'verify' in ref ? ref.verify(values) : relativeError(values, ref.values, true);
        return err <= relTolerance ? null : { relError: err, detail: `max |out − reference| / max |reference| = ${err.toExponential(2)}` };
      }
    }
    const config = tf.getKernel(rec.kernelName, 'cpu');
    if (config === undefined) return { relError: Infinity, detail: 'no cpu kernel to compare with' };
    const cpuInputs: tf.NamedTensorInfoMap = {};
    for (const [name, t] of rec.inputs) cpuInputs[name] = cpu.makeTensorInfo([...t.shape], t.dtype, await valueOf(t));
    let produced: tf.TensorInfo[] = [];
    try {
      const inputs = rec.inputsAreArray ? (Object.values(cpuInputs) as unknown as tf.NamedTensorInfoMap) : cpuInputs;
      const res = config.kernelFunc({ inputs, backend: cpu, attrs: rec.attrs ?? {} });
      produced = Array.isArray(res) ? res : [res];
      if (produced.length !== rec.outputs.length) return { relError: Infinity, detail: `${rec.outputs.length} outputs, cpu gives ${produced.length}` };
      let worst = 0;
      for (const [i, out] of rec.outputs.entries()) {
        const ref = produced[i]!;
        if (!tf.util.arraysEqual(out.shape, ref.shape) || out.dtype !== ref.dtype) {
          return { relError: Infinity, detail: `output ${i}: [${out.shape.join(',')}] ${out.dtype}, cpu [${ref.shape.join(',')}] ${ref.dtype}` };
        }
        const err = relativeError((await valueOf(out)) as ArrayLike<number>, cpu.readSync(ref.dataId) as ArrayLike<number>, out.dtype === 'float32');
        if (err > worst) worst = err;
      }
      return worst <= relTolerance ? null : { relError: worst, detail: `max |out − cpu| / max |cpu| = ${worst.toExponential(2)}` };
    } finally {
      for (const t of [...Object.values(cpuInputs), ...produced]) if (t !== undefined) cpu.disposeData(t.dataId);
    }
  }
}

/** max |a − b| / max |b| (exact comparison for integer and boolean data; NaN/Inf must sit in the same places). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>, float: boolean): number {
  if (a.length !== b.length) return Infinity;
  let scale = 0;
  for (let i = 0; i < b.length; i++) if (Number.isFinite(b[i]!)) scale = Math.max(scale, Math.abs(b[i]!));
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) return Infinity;
      continue;
    }
    if (!float) {
      if (x !== y) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(x - y));
  }
  return scale === 0 ? worst : worst / scale;
}
