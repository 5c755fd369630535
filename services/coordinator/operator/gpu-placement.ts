/**
 * How the GPUs of a worker pod reach its processes, per compute backend (docs/gpu.md).
 *
 * - `webgpu` (Dawn over Vulkan) finds the GPU through the driver's Vulkan ICD, which the NVIDIA
 *   container toolkit mounts only when `NVIDIA_DRIVER_CAPABILITIES` includes `graphics`. Dawn picks
 *   "the" high-performance adapter: WebGPU has no adapter index and CUDA_VISIBLE_DEVICES does not
 *   apply to Vulkan, so the processes of a pod with several GPUs would all train on the same one.
 *   Hence one GPU per pod, and one process.
 * - `auto` picks tfjs-node-gpu where that image route is installed, else webgpu on a hardware adapter
 *   (the default GPU image): it needs the same capability, and the same one-GPU limit, since the
 *   operator cannot know which route the image carries.
 * - `tensorflow` (tfjs-node-gpu, CUDA) splits GPUs per process with CUDA_VISIBLE_DEVICES. The NVIDIA
 *   device plugin sets only NVIDIA_VISIBLE_DEVICES, so the pod names the GPUs it sees (renumbered
 *   0…n−1 inside the container) for `encourage worker --local-procs auto` to start one process each.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { ConfigError } from '../../core/errors.js';
import type { BackendRequest } from '../../core/training/names.js';

/** The NVIDIA device plugin's extended resource: a worker pod's limit is `gpusPerPod` of it. */
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** The driver capabilities the webgpu backend needs: CUDA's (compute, utility) plus the Vulkan ICD (graphics). */
export const NVIDIA_GRAPHICS_CAPABILITIES = 'compute,utility,graphics';

/** Backends that may run on WebGPU, and so see exactly one GPU per process. */
const WEBGPU_CAPABLE: readonly BackendRequest[] = ['webgpu', 'auto'];

/** Where the run's backend came from, for error messages. */
export type BackendSource = 'spec' | 'operator default';

/**
 * Refuse more than one GPU per pod for a backend that may run on WebGPU.
 *
 * @param gpus GPUs each worker pod gets, and the spec field that gave them.
 * @throws ConfigError naming that field, the backend and why, with the alternatives.
 */
export function checkGpusPerPod(backend: BackendRequest, source: BackendSource, gpus: { readonly count: number; readonly field: string }): void {
  if (gpus.count <= 1 || !WEBGPU_CAPABLE.includes(backend)) return;
  const origin = source === 'spec' ? 'spec.backend' : "the operator's default backend, spec.backend being unset";
  const why =
    "WebGPU (Dawn over Vulkan) cannot give each process of a pod its own GPU: it has no adapter index and CUDA_VISIBLE_DEVICES does not apply to Vulkan, so every process would train on the same GPU";
  const fix =
    backend === 'webgpu'
      ? 'use one GPU per pod and more pods (spec.workers.replicas)'
      : "auto runs on webgpu in the default GPU image; use one GPU per pod, or set spec.backend: tensorflow with the tfjs-node-gpu image (docs/gpu.md)";
  throw new ConfigError(gpus.field, gpus.count, `at most 1 with backend ${backend} (${origin}): ${why}; ${fix}`);
}

/**
 * Environment of a worker container for its GPUs: the driver capabilities WebGPU needs, or the CUDA
 * device list tfjs-node-gpu's processes are split by. Nothing for pods without GPUs.
 */
export function workerGpuEnv(backend: BackendRequest, gpusPerPod: number): V1EnvVar[] {
  if (gpusPerPod === 0) return [];
  if (WEBGPU_CAPABLE.includes(backend)) return [{ name: 'NVIDIA_DRIVER_CAPABILITIES', value: NVIDIA_GRAPHICS_CAPABILITIES }];
  if (backend === 'tensorflow') return [{ name: 'CUDA_VISIBLE_DEVICES', value: Array.from({ length: gpusPerPod }, (_, i) => String(i)).join(',') }];
  return [];
}
