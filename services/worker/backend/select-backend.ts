/**
 * Chooses and activates the TF.js compute backend for a worker.
 *
 * Preference for `auto`: TensorFlow C with a GPU (`@tensorflow/tfjs-node-gpu`), then WebGPU on a
 * hardware adapter (Dawn over Vulkan, `webgpu-runtime.ts`), then TensorFlow C on the CPU
 * (`@tensorflow/tfjs-node`), then wasm with our fast training kernels. Both tfjs-node packages
 * are optional dependencies, so they are loaded with a dynamic import and a failure to load is an
 * expected outcome, not an error. A software WebGPU adapter (lavapipe, SwiftShader) is slower than
 * wasm, so `auto` never picks it; `--backend webgpu` uses whatever adapter there is.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigError, EncourageError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { BACKEND_REQUESTS, type BackendName, type BackendRequest } from '../../core/training/names.js';
import { registerFastWasmKernels } from './register-wasm-kernels.js';
import { webGpuKernelChoices } from '../config.js';
import { setGemmTiling } from './webgpu/conv-gemm-wgsl.js';
import { setConvForwardAlgorithm } from './webgpu/conv-forward-kernel.js';
import { setInputGradAlgorithm } from './webgpu/conv-grad-kernels.js';
import { registerWebGpuKernels } from './webgpu/register-webgpu-kernels.js';
import { adapterLabel, openWebGpu, WebGpuUnavailableError, type DawnImporter, type GpuAdapterReport } from './webgpu-runtime.js';

export type { BackendName, BackendRequest } from '../../core/training/names.js';

const requests: readonly BackendRequest[] = BACKEND_REQUESTS;

/** The backend could not be activated (e.g. `tensorflow` requested but tfjs-node is missing). */
export class BackendUnavailableError extends EncourageError {
  override readonly name = 'BackendUnavailableError';
  constructor(
    /** What was asked for. */
    readonly request: BackendRequest,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`backend ${JSON.stringify(request)} unavailable: ${message}`, options);
  }
}

/**
 * Validate a backend name from a flag, config file or environment variable.
 * @throws ConfigError for anything other than auto|tensorflow|webgpu|wasm|cpu.
 */
export function parseBackendRequest(value: string): BackendRequest {
  const normalised = value.trim().toLowerCase();
  const match = requests.find((r) => r === normalised);
  if (match === undefined) throw new ConfigError('backend', value, requests.join('|'));
  return match;
}

/** How optional native packages are loaded; replaceable in tests. */
export type ModuleImporter = (specifier: string) => Promise<unknown>;

// The specifier goes through a variable so TypeScript does not try to resolve packages that
// are, by design, often not installed.
const defaultImporter: ModuleImporter = (specifier) => import(specifier);

const NODE_GPU = '@tensorflow/tfjs-node-gpu';
const NODE_CPU = '@tensorflow/tfjs-node';

interface NativeAttempt {
  loaded: boolean;
  /** Only meaningful when loaded: whether TensorFlow placed ops on a GPU. */
  gpu: boolean;
  error?: string;
}

async function tryNative(specifier: string, importer: ModuleImporter): Promise<NativeAttempt> {
  try {
    await importer(specifier);
  } catch (err) {
    return { loaded: false, gpu: false, error: firstLine(err) };
  }
  // tfjs-node's backend exposes `isUsingGpuDevice`; the CPU package always reports false.
  const backend = tf.findBackend('tensorflow') as { isUsingGpuDevice?: unknown } | null;
  if (backend === null) return { loaded: false, gpu: false, error: `${specifier} loaded but registered no 'tensorflow' backend` };
  return { loaded: true, gpu: backend.isUsingGpuDevice === true };
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n', 1)[0] ?? text;
}

async function activate(name: BackendName, request: BackendRequest): Promise<void> {
  if (name === 'wasm') registerFastWasmKernels();
  if (name === 'webgpu') {
    // The A/B switches (worker config) before the kernels are installed; a bad value fails here, by name.
    const choices = webGpuKernelChoices();
    setGemmTiling(choices.gemmTiling);
    setConvForwardAlgorithm(choices.conv);
    setInputGradAlgorithm(choices.dx);
    registerWebGpuKernels();
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendUnavailableError(request, `tf.setBackend('${name}') threw: ${firstLine(err)}`, { cause: err });
  }
  if (!ok) throw new BackendUnavailableError(request, `tf.setBackend('${name}') failed to initialise`);
  await tf.ready();
}

/** The backend a process computes on, and why it was chosen. */
export interface SelectedBackend {
  readonly backend: BackendName;
  readonly reason: string;
  /** The WebGPU adapter (`webgpu` only). */
  readonly adapter: GpuAdapterReport | null;
  /** Whether the step runs on a GPU-class device (webgpu, or tfjs-node-gpu using a GPU). */
  readonly gpu: boolean;
}

/** How optional packages are loaded; tests substitute both. */
export interface BackendImporters {
  readonly native?: ModuleImporter;
  readonly dawn?: DawnImporter;
}

/**
 * Pick, initialise and activate a backend, logging the choice and the reason.
 *
 * @param request `auto` or a concrete backend name (see {@link parseBackendRequest}).
 * @param logger  receives one `info` line with `{ backend, reason, adapter }`.
 * @param importers how optional tfjs-node packages and Dawn's binding are imported (tests substitute them).
 * @returns the active backend, a human-readable reason, and the GPU adapter where there is one.
 * @throws BackendUnavailableError when an explicitly requested backend cannot be used.
 */
export async function selectBackend(request: BackendRequest, logger: Logger, importers: BackendImporters | ModuleImporter = {}): Promise<SelectedBackend> {
  const { native: importer = defaultImporter, dawn } = typeof importers === 'function' ? { native: importers, dawn: undefined } : importers;
  let backend: BackendName;
  let reason: string;
  let adapter: GpuAdapterReport | null = null;
  let gpu = false;
  switch (request) {
    case 'cpu':
      backend = 'cpu';
      reason = 'requested: pure-JavaScript cpu backend (slow; reference results)';
      break;
    case 'wasm':
      backend = 'wasm';
      reason = 'requested: wasm (XNNPACK) with fast conv-gradient kernels';
      break;
    case 'webgpu':
      try {
        adapter = await openWebGpu(true, dawn);
      } catch (err) {
        throw new BackendUnavailableError(request, err instanceof Error ? err.message : String(err), { cause: err });
      }
      backend = 'webgpu';
      gpu = true;
      reason = `requested: WebGPU (Dawn over Vulkan) on ${adapterLabel(adapter)}`;
      break;
    case 'tensorflow': {
      const gpuPkg = await tryNative(NODE_GPU, importer);
      if (gpuPkg.loaded) {
        backend = 'tensorflow';
        gpu = gpuPkg.gpu;
        reason = gpuPkg.gpu ? `requested: ${NODE_GPU} using a GPU` : `requested: ${NODE_GPU} loaded but sees no GPU, running on CPU`;
        break;
      }
      const cpu = await tryNative(NODE_CPU, importer);
      if (!cpu.loaded) {
        throw new BackendUnavailableError(
          request,
          `neither ${NODE_GPU} (${gpuPkg.error ?? 'not loadable'}) nor ${NODE_CPU} (${cpu.error ?? 'not loadable'}) could be loaded; ` +
            `install one of them or use --backend webgpu or wasm`,
        );
      }
      backend = 'tensorflow';
      reason = `requested: ${NODE_CPU} (TensorFlow C on CPU)`;
      break;
    }
    case 'auto': {
      const gpuPkg = await tryNative(NODE_GPU, importer);
      if (gpuPkg.loaded && gpuPkg.gpu) {
        backend = 'tensorflow';
        gpu = true;
        reason = `auto: ${NODE_GPU} loaded and uses a GPU`;
        break;
      }
      let webgpuWhy: string;
      try {
        adapter = await openWebGpu(false, dawn);
        backend = 'webgpu';
        gpu = true;
        reason = `auto: ${NODE_GPU} ${gpuPkg.loaded ? 'sees no GPU' : 'unavailable'}; WebGPU on ${adapterLabel(adapter)}`;
        break;
      } catch (err) {
        if (!(err instanceof WebGpuUnavailableError)) throw err;
        webgpuWhy = err.stage === 'software-adapter' ? 'only a software adapter' : err.message;
      }
      const cpu = await tryNative(NODE_CPU, importer);
      if (cpu.loaded) {
        backend = 'tensorflow';
        reason = gpuPkg.loaded
          ? `auto: ${NODE_GPU} sees no GPU, no WebGPU hardware adapter (${webgpuWhy}); ${NODE_CPU} (TensorFlow C on CPU)`
          : `auto: ${NODE_GPU} unavailable (${gpuPkg.error ?? 'not loadable'}), no WebGPU hardware adapter (${webgpuWhy}); ${NODE_CPU} (TensorFlow C on CPU)`;
        break;
      }
      if (gpuPkg.loaded) {
        // The GPU package without a GPU is the same TensorFlow C library on the CPU as
        // tfjs-node, and still faster than wasm, so it beats falling through.
        backend = 'tensorflow';
        reason = `auto: ${NODE_GPU} sees no GPU and ${NODE_CPU} is unavailable; TensorFlow C on CPU via ${NODE_GPU}`;
        break;
      }
      backend = 'wasm';
      reason =
        `auto: tfjs-node is unavailable (${NODE_GPU}: ${gpuPkg.error ?? 'not loadable'}; ${NODE_CPU}: ${cpu.error ?? 'not loadable'}), ` +
        `no WebGPU hardware adapter (${webgpuWhy}); using wasm with fast conv-gradient kernels`;
      break;
    }
  }
  await activate(backend, request);
  logger.info({ backend, request, reason, ...(adapter === null ? {} : { adapter }) }, 'compute backend selected');
  return { backend, reason, adapter, gpu };
}
