/**
 * The worker process's own settings (where the coordinator is, how this process is addressed in
 * the ring); the run's training settings come from the coordinator as a `TrainConfig`. The only
 * worker module that reads `process.env` — in a pod these come from the Downward API.
 */
import * as os from 'node:os';
import { ConfigError } from '../core/errors.js';
import { parseTlsSettings, tlsFlagsFrom, type TlsSettings } from '../core/tls.js';

/** Port of the collective service; 0 picks a free one (fine when addresses are reported, as here). */
export const DEFAULT_COLLECTIVE_PORT = 0;
/**
 * How long a worker keeps trying to reach a coordinator that went away (a restarting coordinator
 * pod) before it gives up and exits non-zero.
 */
export const COORDINATOR_LOST_TIMEOUT_MS = 600_000;

export interface WorkerConfig {
  /** host:port of the coordinator. */
  readonly coordinator: string;
  /** Pod (or host) name: same-pod ranks are ring neighbours. */
  readonly pod: string;
  /** This process's index within the pod (GPU index). */
  readonly localIndex: number;
  /** 'auto' (one per visible GPU, else 1) or a count of processes to start in this pod. */
  readonly localProcs: 'auto' | number;
  /** Address ring neighbours use to reach this process. */
  readonly collectiveHost: string;
  readonly collectivePort: number;
  readonly joinToken: string;
  /** TLS for every gRPC connection of this worker (null: plaintext). */
  readonly tls: TlsSettings | null;
  readonly coordinatorLostTimeoutMs: number;
  /** Chaos-test fail points (`ENCOURAGE_FAILPOINTS`, see failpoints.ts); empty in production. */
  readonly failpoints: string;
}

/** Validate flags, falling back to the pod environment (ENCOURAGE_COORDINATOR, POD_NAME, POD_IP, …). */
export function parseWorkerConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const coordinator = raw['coordinator'] ?? env['ENCOURAGE_COORDINATOR'];
  if (typeof coordinator !== 'string' || !/^[^:\s]+:\d{1,5}$/.test(coordinator)) throw new ConfigError('coordinator', coordinator, 'host:port of the coordinator');
  const loopback = /^(127\.|localhost:|\[::1\])/.test(coordinator);
  const int = (key: string, v: unknown, min: number, max: number): number => {
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new ConfigError(key, v, `an integer in [${min}, ${max}]`);
    return n;
  };
  const procs = raw['localProcs'] ?? 'auto';
  return {
    coordinator,
    pod: String(raw['pod'] ?? env['POD_NAME'] ?? os.hostname()),
    localIndex: int('localIndex', raw['localIndex'] ?? 0, 0, 1023),
    localProcs: procs === 'auto' ? 'auto' : int('localProcs', procs, 1, 1024),
    collectiveHost: String(raw['collectiveHost'] ?? env['POD_IP'] ?? (loopback ? '127.0.0.1' : os.hostname())),
    collectivePort: int('collectivePort', raw['collectivePort'] ?? DEFAULT_COLLECTIVE_PORT, 0, 65535),
    joinToken: String(raw['joinToken'] ?? env['ENCOURAGE_JOIN_TOKEN'] ?? ''),
    tls: parseTlsSettings(tlsFlagsFrom(raw, env)),
    failpoints: env['ENCOURAGE_FAILPOINTS'] ?? '',
    coordinatorLostTimeoutMs: int('coordinatorTimeoutMs', raw['coordinatorTimeoutMs'] ?? COORDINATOR_LOST_TIMEOUT_MS, 100, 24 * 3600 * 1000),
  };
}

/** GPU indices this pod may use: CUDA_VISIBLE_DEVICES when set, else none known. */
export function visibleGpus(env: NodeJS.ProcessEnv = process.env): string[] {
  const v = env['CUDA_VISIBLE_DEVICES'];
  if (v === undefined || v.trim() === '' || v.trim() === '-1') return [];
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * Which algorithm each webgpu convolution kernel uses — switches for A/B measurements on a GPU
 * (docs/gpu.md; the defaults are what measured fastest on an H200, docs/performance.md):
 * `ENCOURAGE_WEBGPU_GEMM` wide | narrow (register blocks of the GEMM tiles), `ENCOURAGE_WEBGPU_CONV`
 * and `ENCOURAGE_WEBGPU_DX` gemm | stock (ours or tfjs-webgpu's Conv2D / Conv2DBackpropInput).
 */
export interface WebGpuKernelChoices {
  readonly gemmTiling: 'wide' | 'narrow';
  readonly conv: 'gemm' | 'stock';
  readonly dx: 'gemm' | 'stock';
}

/** Read and validate the webgpu kernel switches; an unknown value is a ConfigError naming the variable. */
export function webGpuKernelChoices(env: NodeJS.ProcessEnv = process.env): WebGpuKernelChoices {
  const choice = <T extends string>(name: string, allowed: readonly [T, ...T[]]): T => {
    const value = env[name];
    if (value === undefined || value === '') return allowed[0];
    if (!(allowed as readonly string[]).includes(value)) throw new ConfigError(name, value, `one of ${allowed.join(', ')}`);
    return value as T;
  };
  return {
    gemmTiling: choice('ENCOURAGE_WEBGPU_GEMM', ['wide', 'narrow']),
    conv: choice('ENCOURAGE_WEBGPU_CONV', ['gemm', 'stock']),
    dx: choice('ENCOURAGE_WEBGPU_DX', ['gemm', 'stock']),
  };
}
