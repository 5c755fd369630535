/**
 * The `webgpu` backend in Node: TensorFlow.js's WebGPU backend on Dawn's Node binding (npm
 * `webgpu`, a native module shipped inside the package) over Vulkan — the GPU route that installs
 * from npm alone (docs/gpu.md). NVIDIA's drivers ship a Vulkan ICD; Mesa's lavapipe is a software
 * one that runs the same code on any machine (slowly), which is how CI tests this backend.
 *
 * tfjs-backend-webgpu registers itself only when `navigator.gpu` exists at import time and then
 * asks for a device with a few fixed limits. We do neither: this module creates the Dawn instance,
 * picks and describes the adapter (refusing software adapters unless they were asked for), asks for
 * a device with the adapter's compute limits and the features our kernels can use, and registers
 * `webgpu` with that device. The globals WebGPU code expects (`GPUBufferUsage`, `GPUMapMode`, …)
 * come from the binding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { EncourageError } from '../../core/errors.js';

/** What a run reports about the GPU it trained on (summary, run report, metric label). */
export interface GpuAdapterReport {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A CPU implementation of Vulkan/WebGPU (lavapipe/llvmpipe, SwiftShader, WARP). */
  readonly software: boolean;
  /** Optional WebGPU features the device was created with. */
  readonly features: readonly string[];
}

/** Dawn, its Vulkan loader/driver, or an acceptable adapter is missing. */
export class WebGpuUnavailableError extends EncourageError {
  override readonly name = 'WebGpuUnavailableError';
  constructor(
    /** Which stage failed: loading the binding, finding an adapter, or creating the device. */
    readonly stage: 'binding' | 'adapter' | 'software-adapter' | 'device',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Features a kernel may use when the adapter has them; tfjs itself uses timestamp-query for profiles. */
const WANTED_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as const;

/** Adapter limits worth raising from WebGPU's defaults for compute (the rest stay at defaults). */
const RAISED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Adapter names of known software implementations (Dawn also sets `isFallbackAdapter` for them). */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|microsoft basic render|warp/i;

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/** How the Dawn binding is loaded; replaceable in tests (a missing binding, a failing import). */
export type DawnImporter = () => Promise<DawnModule>;

const defaultImporter: DawnImporter = async () => (await import('webgpu')) as unknown as DawnModule;

/** Per importer (one in production; tests bring stand-ins), the first successful opening. */
const opened = new Map<DawnImporter, Promise<GpuAdapterReport>>();

/**
 * Describe an adapter the way the run reports it.
 * @param fallback Dawn's `isFallbackAdapter` (on the adapter or its info, depending on the version).
 */
export function describeAdapter(info: GPUAdapterInfo, fallback: boolean, features: readonly string[]): GpuAdapterReport {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: fallback || info.architecture === 'software' || SOFTWARE_ADAPTER.test(text),
    features,
  };
}

/**
 * The device a run computes on, as one line for summaries, reports and metric labels: the GPU
 * adapter (vendor, device and description) or `cpu`.
 */
export function deviceLabel(adapter: GpuAdapterReport | null): string {
  if (adapter === null) return 'cpu';
  return `${adapterLabel(adapter)}${adapter.description === '' ? '' : ` — ${adapter.description}`}`;
}

/** One line naming the adapter, for logs and error messages. */
export function adapterLabel(a: GpuAdapterReport): string {
  return `${a.vendor || 'unknown vendor'} ${a.device || a.architecture || 'unknown device'}${a.software ? ' (software)' : ''}`;
}

/**
 * Open Dawn, pick the adapter and register the `webgpu` tfjs backend on a device created for it.
 * Idempotent per process: later calls return the first call's adapter (a failed attempt is not
 * cached, so a caller may retry, e.g. with software adapters allowed).
 *
 * @param allowSoftware accept a software adapter (explicit `--backend webgpu`); `auto` passes false.
 * @throws WebGpuUnavailableError naming the stage and the cause (missing binding, no Vulkan
 *   driver, only a software adapter, device creation refused).
 */
export function openWebGpu(allowSoftware: boolean, importer: DawnImporter = defaultImporter): Promise<GpuAdapterReport> {
  const earlier = opened.get(importer);
  if (earlier !== undefined) {
    return earlier.then((report) => {
      if (report.software && !allowSoftware) throw softwareOnly(report);
      return report;
    });
  }
  const attempt = open(allowSoftware, importer);
  opened.set(importer, attempt);
  attempt.catch(() => {
    if (opened.get(importer) === attempt) opened.delete(importer);
  });
  return attempt;
}

async function open(allowSoftware: boolean, importer: DawnImporter): Promise<GpuAdapterReport> {
  let dawn: DawnModule;
  try {
    dawn = await importer();
  } catch (err) {
    throw new WebGpuUnavailableError('binding', `Dawn's Node binding (npm package 'webgpu') could not be loaded: ${firstLine(err)}`, { cause: err });
  }
  // WebGPU code refers to these as globals (GPUBufferUsage.STORAGE, GPUMapMode.READ, …).
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) {
    throw new WebGpuUnavailableError(
      'adapter',
      'Dawn found no GPU adapter: no Vulkan driver is installed or visible (install the Vulkan loader libvulkan1 and a driver — ' +
        "NVIDIA's ships one, enabled in containers by NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics; Mesa's mesa-vulkan-drivers " +
        'is a software one — or point VK_DRIVER_FILES at the driver\'s ICD json)',
    );
  }
  const info = adapter.info;
  const fallback = (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const features = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const report = describeAdapter(info, fallback, features);
  if (report.software && !allowSoftware) throw softwareOnly(report);
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof value === 'number') requiredLimits[name] = value;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: features as GPUFeatureName[], requiredLimits });
  } catch (err) {
    throw new WebGpuUnavailableError('device', `adapter ${adapterLabel(report)} refused a device: ${firstLine(err)}`, { cause: err });
  }
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Imported first: with `navigator.gpu` present at import time the package would register its own
  // `webgpu` factory. Its backend's constructor then checks that `navigator.gpu` exists.
  exposeNavigatorGpu(gpu);
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  // Priority 0: never chosen by tfjs on its own; selectBackend activates it explicitly.
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, info), 0);
  return report;
}

function exposeNavigatorGpu(gpu: GPU): void {
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (!('gpu' in nav) || (nav as { gpu?: unknown }).gpu == null) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
}

function softwareOnly(report: GpuAdapterReport): WebGpuUnavailableError {
  return new WebGpuUnavailableError(
    'software-adapter',
    `the only WebGPU adapter is a software implementation (${adapterLabel(report)}: ${report.description}); ` +
      'it is used only when asked for explicitly (--backend webgpu)',
  );
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0] ?? text;
}
