/**
 * Chooses and activates the TF.js compute backend for a worker.
 *
 * Preference for `auto`: TensorFlow C with a GPU (`@tensorflow/tfjs-node-gpu`), then
 * TensorFlow C on the CPU (`@tensorflow/tfjs-node`), then wasm with our fast training
 * kernels. Both tfjs-node packages are optional dependencies, so they are loaded with a
 * dynamic import and a failure to load is an expected outcome, not an error.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { ConfigError, EncourageError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { registerFastWasmKernels } from './register-wasm-kernels.js';

/** A concrete backend. `tensorflow` is what tfjs-node(-gpu) registers. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
/** What a user may ask for. */
export type BackendRequest = 'auto' | BackendName;

const requests: readonly BackendRequest[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

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
 * @throws ConfigError for anything other than auto|tensorflow|wasm|cpu.
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
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    throw new BackendUnavailableError(request, `tf.setBackend('${name}') threw: ${firstLine(err)}`, { cause: err });
  }
  if (!ok) throw new BackendUnavailableError(request, `tf.setBackend('${name}') failed to initialise`);
  await tf.ready();
}

/**
 * Pick, initialise and activate a backend, logging the choice and the reason.
 *
 * @param request `auto` or a concrete backend name (see {@link parseBackendRequest}).
 * @param logger  receives one `info` line with `{ backend, reason }`.
 * @param importer how optional tfjs-node packages are imported (tests substitute it).
 * @returns the active backend name and a human-readable reason.
 * @throws BackendUnavailableError when an explicitly requested backend cannot be used.
 */
export async function selectBackend(
  request: BackendRequest,
  logger: Logger,
  importer: ModuleImporter = defaultImporter,
): Promise<{ backend: string; reason: string }> {
  let backend: BackendName;
  let reason: string;
  switch (request) {
    case 'cpu':
      backend = 'cpu';
      reason = 'requested: pure-JavaScript cpu backend (slow; reference results)';
      break;
    case 'wasm':
      backend = 'wasm';
      reason = 'requested: wasm (XNNPACK) with fast conv-gradient kernels';
      break;
    case 'tensorflow': {
      const gpu = await tryNative(NODE_GPU, importer);
      if (gpu.loaded) {
        backend = 'tensorflow';
        reason = gpu.gpu ? `requested: ${NODE_GPU} using a GPU` : `requested: ${NODE_GPU} loaded but sees no GPU, running on CPU`;
        break;
      }
      const cpu = await tryNative(NODE_CPU, importer);
      if (!cpu.loaded) {
        throw new BackendUnavailableError(
          request,
          `neither ${NODE_GPU} (${gpu.error ?? 'not loadable'}) nor ${NODE_CPU} (${cpu.error ?? 'not loadable'}) could be loaded; ` +
            `install one of them or use --backend wasm`,
        );
      }
      backend = 'tensorflow';
      reason = `requested: ${NODE_CPU} (TensorFlow C on CPU)`;
      break;
    }
    case 'auto': {
      const gpu = await tryNative(NODE_GPU, importer);
      if (gpu.loaded && gpu.gpu) {
        backend = 'tensorflow';
        reason = `auto: ${NODE_GPU} loaded and uses a GPU`;
        break;
      }
      const cpu = await tryNative(NODE_CPU, importer);
      if (cpu.loaded) {
        backend = 'tensorflow';
        reason = gpu.loaded
          ? `auto: ${NODE_GPU} sees no GPU; ${NODE_CPU} (TensorFlow C on CPU)`
          : `auto: ${NODE_GPU} unavailable (${gpu.error ?? 'not loadable'}); ${NODE_CPU} (TensorFlow C on CPU)`;
        break;
      }
      if (gpu.loaded) {
        // The GPU package without a GPU is the same TensorFlow C library on the CPU as
        // tfjs-node, and still faster than wasm, so it beats falling through.
        backend = 'tensorflow';
        reason = `auto: ${NODE_GPU} sees no GPU and ${NODE_CPU} is unavailable; TensorFlow C on CPU via ${NODE_GPU}`;
        break;
      }
      backend = 'wasm';
      reason =
        `auto: tfjs-node is unavailable (${NODE_GPU}: ${gpu.error ?? 'not loadable'}; ${NODE_CPU}: ${cpu.error ?? 'not loadable'}); ` +
        `using wasm with fast conv-gradient kernels`;
      break;
    }
  }
  await activate(backend, request);
  logger.info({ backend, request, reason }, 'compute backend selected');
  return { backend, reason };
}
