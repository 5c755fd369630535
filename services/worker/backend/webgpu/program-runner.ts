/**
 * Runs our own WGSL compute shaders on TensorFlow.js's WebGPU device, in its command stream.
 *
 * tfjs-backend-webgpu's program interface (`runWebGPUProgram`) binds one output per dispatch,
 * writes a fresh uniform buffer of shapes and strides for every dispatch and builds the shader
 * around generated accessors. Our kernels need what it cannot give: several outputs from one
 * dispatch (BatchNorm's backward writes dγ, dβ and the dx coefficients at once; the SGD step writes
 * new weights and new momentum for several tensors), and shapes baked into the shader as constants
 * so that a model's fixed shapes compile to one pipeline each and a dispatch carries no uniform
 * buffer at all (GPU-NOTES.md: a dispatch costs host time, not GPU time). So this module
 * - compiles each distinct shader once (explicit bind-group layout, cached by key);
 * - binds tensors' GPU buffers directly: `writes` as read_write storage (bindings 0…), then
 *   `reads` as read-only storage, then an optional uniform buffer for per-call values;
 * - records the dispatch on the backend's own command encoder and compute pass, so it is ordered
 *   with tfjs's dispatches, and does the bookkeeping tfjs does for its own (buffers stay owned by
 *   the queue until submission; batched submission; timestamp queries while profiling, so
 *   `tf.profile` reports our dispatches' GPU time under the kernel that issued them).
 *
 * The bookkeeping reaches into tfjs-backend-webgpu 4.22's private fields (pinned exactly in
 * package.json); {@link backendInternals} checks they exist and names the version otherwise.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The backend methods and fields the runner uses (public and private ones of tfjs-backend-webgpu 4.22). */
interface BackendInternals {
  readonly device: GPUDevice;
  readonly queue: GPUQueue;
  readonly tensorMap: { get(dataId: object): { resource?: unknown; dtype: tf.DataType } | undefined };
  readonly bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  querySet: GPUQuerySet | null;
  readonly querySetCount: number;
  readonly supportTimestampQuery: boolean;
  uniformPendingDisposal: GPUBuffer[];
}

const REQUIRED_MEMBERS = [
  'device', 'queue', 'tensorMap', 'bufferManager', 'makeTensorInfo', 'uploadToGPU', 'disposeData', 'ensureCommandEncoderReady',
  'endComputePassEncoder', 'submitQueue', 'getQueryTime', 'commandQueueOwnedIds', 'dispatchCountInPass', 'querySetCount',
  'supportTimestampQuery', 'uniformPendingDisposal',
] as const;

/**
 * The webgpu backend seen through the members the runner needs.
 * @throws Error when the backend is not tfjs-backend-webgpu 4.22's (a member is missing).
 */
export function backendInternals(backend: unknown): BackendInternals {
  const b = backend as Record<string, unknown> | null;
  const missing = b === null ? ['(no backend)'] : REQUIRED_MEMBERS.filter((m) => !(m in b));
  if (missing.length > 0) {
    throw new Error(`the webgpu backend lacks ${missing.join(', ')}: Encourage's webgpu kernels are written against @tensorflow/tfjs-backend-webgpu 4.22.0`);
  }
  return backend as BackendInternals;
}

/** A compute shader and how it binds: `writes` read_write buffers first, then `reads`, then an optional uniform. */
export interface ProgramSpec {
  /** Unique per distinct WGSL text (shapes included): the pipeline cache key. */
  readonly key: string;
  /**
   * Complete WGSL with entry point `main`, declaring exactly the bindings below; called only when
   * `key` is not compiled yet, so a step does not rebuild shader text.
   */
  readonly wgsl: () => string;
  readonly writes: number;
  readonly reads: number;
  readonly uniform: boolean;
  /** Name shown per dispatch in `tf.profile`'s extraInfo (tfjs shows program class names there). */
  readonly label: string;
}

interface Compiled {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

const pipelines = new WeakMap<GPUDevice, Map<string, Compiled>>();
/** Programs whose shader or pipeline the device rejected (WebGPU reports that asynchronously). */
const rejected = new Map<string, string>();

function compile(device: GPUDevice, spec: ProgramSpec): Compiled {
  let cache = pipelines.get(device);
  if (cache === undefined) {
    cache = new Map();
    pipelines.set(device, cache);
  }
  const hit = cache.get(spec.key);
  if (hit !== undefined) return hit;
  const entries: GPUBindGroupLayoutEntry[] = [];
  for (let i = 0; i < spec.writes + spec.reads; i++) {
    entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: i < spec.writes ? 'storage' : 'read-only-storage' } });
  }
  if (spec.uniform) entries.push({ binding: spec.writes + spec.reads, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
  // A WGSL error does not throw: the pipeline is silently invalid and its dispatches do nothing.
  // The error scope catches it; the message goes to stderr at once and later dispatches throw.
  device.pushErrorScope('validation');
  const layout = device.createBindGroupLayout({ label: spec.label, entries });
  const module = device.createShaderModule({ label: spec.label, code: spec.wgsl() });
  const pipeline = device.createComputePipeline({
    label: spec.label,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: 'main' },
  });
  void device.popErrorScope().then((error) => {
    if (error === null) return;
    rejected.set(spec.key, error.message);
    process.stderr.write(`Encourage webgpu program ${spec.label} (${spec.key}) was rejected by the device: ${error.message}\n`);
  });
  const compiled = { pipeline, layout };
  cache.set(spec.key, compiled);
  return compiled;
}

/** Number of pipelines compiled on `device` so far (tests check that shapes reuse them). */
export function compiledPipelineCount(device: GPUDevice): number {
  return pipelines.get(device)?.size ?? 0;
}

/** Why the device rejected program `key`, once it has said so (undefined: accepted or not judged yet). */
export function programRejection(key: string): string | undefined {
  return rejected.get(key);
}

/** The WGSL binding declarations matching a {@link ProgramSpec}: `var<storage, …> name: array<type>`. */
export function bindingDeclarations(writes: readonly string[], reads: readonly string[], uniformStruct?: string, elementType = 'f32'): string {
  const lines: string[] = [];
  writes.forEach((name, i) => lines.push(`@group(0) @binding(${i}) var<storage, read_write> ${name}: array<${elementType}>;`));
  reads.forEach((name, i) => lines.push(`@group(0) @binding(${writes.length + i}) var<storage, read> ${name}: array<${elementType}>;`));
  if (uniformStruct !== undefined) lines.push(`@group(0) @binding(${writes.length + reads.length}) var<uniform> u: ${uniformStruct};`);
  return lines.join('\n');
}

/** Allocate a float32 tensor's GPU buffer on the backend (the caller owns the returned info). */
export function allocate(backend: BackendInternals, shape: number[]): tf.TensorInfo {
  const info = backend.makeTensorInfo(shape, 'float32');
  backend.uploadToGPU(info.dataId);
  return info;
}

function bufferOf(backend: BackendInternals, t: tf.TensorInfo): GPUBuffer {
  backend.uploadToGPU(t.dataId);
  const resource = backend.tensorMap.get(t.dataId)?.resource;
  if (!(resource instanceof GPUBuffer)) throw new Error(`tensor [${t.shape.join(',')}] has no GPU buffer (a texture or external resource?)`);
  return resource;
}

/**
 * Record one dispatch of `spec` over `workgroups`, binding `writes` (read_write) and `reads`.
 * `uniform` bytes, when the program has a uniform, go to a buffer from the backend's pool that is
 * released after submission, like tfjs's own uniforms.
 */
export function dispatch(
  backend: BackendInternals,
  spec: ProgramSpec,
  writes: readonly tf.TensorInfo[],
  reads: readonly tf.TensorInfo[],
  workgroups: readonly [number, number, number],
  uniform?: ArrayBuffer,
): void {
  if (writes.length !== spec.writes || reads.length !== spec.reads || (uniform !== undefined) !== spec.uniform) {
    throw new Error(`${spec.label}: ${writes.length} writes, ${reads.length} reads, uniform ${uniform !== undefined} for a program of ${spec.writes}/${spec.reads}/${spec.uniform}`);
  }
  const limit = backend.device.limits.maxComputeWorkgroupsPerDimension;
  if (workgroups.some((w) => w > limit || w < 1 || !Number.isInteger(w))) throw new Error(`${spec.label}: dispatch [${workgroups.join(',')}] outside 1…${limit}`);
  const refusal = rejected.get(spec.key);
  if (refusal !== undefined) throw new Error(`webgpu program ${spec.label} was rejected by the device: ${refusal}`);
  const { pipeline, layout } = compile(backend.device, spec);
  const entries: GPUBindGroupEntry[] = [...writes, ...reads].map((t, i) => ({ binding: i, resource: { buffer: bufferOf(backend, t) } }));
  if (uniform !== undefined) {
    const size = Math.ceil(uniform.byteLength / 16) * 16;
    const buffer = backend.bufferManager.acquireBuffer(size, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
    backend.queue.writeBuffer(buffer, 0, uniform, 0, uniform.byteLength);
    backend.uniformPendingDisposal.push(buffer);
    entries.push({ binding: writes.length + reads.length, resource: { buffer, size } });
  }
  // Buffers of tensors disposed before submission must not go back to the pool while the
  // recorded commands still use them (tfjs releases them in submitQueue).
  for (const t of [...writes, ...reads]) backend.commandQueueOwnedIds.add(t.dataId);
  const bindGroup = backend.device.createBindGroup({ layout, entries });
  backend.ensureCommandEncoderReady();
  const encoder = backend.commandEncoder!;
  const timing = backend.activeTimers != null;
  if (timing && backend.supportTimestampQuery) {
    backend.endComputePassEncoder();
    backend.querySet ??= backend.device.createQuerySet({ type: 'timestamp', count: backend.querySetCount });
    backend.computePassEncoder = encoder.beginComputePass({ timestampWrites: { querySet: backend.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  } else if (backend.computePassEncoder === null) {
    backend.computePassEncoder = encoder.beginComputePass({});
  }
  const pass = backend.computePassEncoder!;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
  backend.dispatchCountInPass++;
  if (timing || (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number) <= backend.dispatchCountInPass) {
    backend.endComputePassEncoder();
    if (timing) backend.activeTimers!.push({ name: spec.label, query: backend.getQueryTime() });
    else backend.submitQueue();
  }
}

/** Release a temporary tensor made with {@link allocate} (its buffer returns to the pool after submission). */
export function release(backend: BackendInternals, t: tf.TensorInfo): void {
  backend.disposeData(t.dataId);
}

/** Split `count` work items into a 1-, 2- or 3-D workgroup grid within the per-dimension limit. */
export function grid(count: number, limit: number): [number, number, number] {
  if (count <= limit) return [Math.max(1, count), 1, 1];
  const side = Math.ceil(Math.sqrt(count));
  if (side <= limit) return [side, Math.ceil(count / side), 1];
  const cube = Math.ceil(Math.cbrt(count));
  return [cube, cube, Math.ceil(count / (cube * cube))];
}

/** WGSL that turns a (possibly 2-D/3-D) workgroup id back into the linear index {@link grid} split. */
export const LINEAR_WORKGROUP = 'fn linearWorkgroup(wg: vec3<u32>, n: vec3<u32>) -> u32 { return wg.x + n.x * (wg.y + n.y * wg.z); }';
