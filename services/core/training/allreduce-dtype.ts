/**
 * The wire format of the gradient all-reduce: a run's setting (`auto`, `float32`, `float16`) and
 * the one place that turns it into the format a ring uses. Shared by the coordinator, which
 * resolves it when a ring forms, and the workers, which read the result from their assignment —
 * so every rank of a ring uses the same format whatever each of them computes on.
 *
 * Why `auto` means float16 only when every rank computes on a GPU: float16 transport with float32
 * accumulation (Horovod's fp16 compression) halves the bytes, which is what a GPU step — 10–100×
 * shorter than a CPU one — is waiting for; on a CPU rank the conversion costs CPU time the step
 * needs, the all-reduce was a few percent of the step (docs/performance.md), and float32 keeps N
 * workers × B exactly equivalent to one worker × N·B. A ring with any CPU rank therefore stays on
 * float32. An explicit setting always wins.
 */
import { ConfigError } from '../errors.js';

/** What a run may ask for. */
export const ALLREDUCE_DTYPE_SETTINGS = ['auto', 'float32', 'float16'] as const;
export type AllreduceDtypeSetting = (typeof ALLREDUCE_DTYPE_SETTINGS)[number];
/** A concrete wire format. */
export type AllreduceWireDtype = Exclude<AllreduceDtypeSetting, 'auto'>;

/** Default setting of a run (docs/distributed.md, "Options"). */
export const DEFAULT_ALLREDUCE_DTYPE: AllreduceDtypeSetting = 'auto';
/** What `auto` gives a ring whose ranks all compute on GPUs. */
export const GPU_RING_WIRE_DTYPE: AllreduceWireDtype = 'float16';
/** What `auto` gives a ring with any CPU (cpu, wasm, TensorFlow on CPU, WebGPU on a software adapter) rank. */
export const CPU_RING_WIRE_DTYPE: AllreduceWireDtype = 'float32';

/**
 * Validate a setting from a flag, config file or CRD.
 *
 * @throws ConfigError naming `key` and the value.
 */
export function parseAllreduceDtype(value: unknown, key = 'allreduceDtype'): AllreduceDtypeSetting {
  if (typeof value === 'string' && (ALLREDUCE_DTYPE_SETTINGS as readonly string[]).includes(value)) return value as AllreduceDtypeSetting;
  throw new ConfigError(key, value, ALLREDUCE_DTYPE_SETTINGS.map((s) => `'${s}'`).join(', '));
}

/**
 * The wire format of a ring: the explicit setting, or for `auto` float16 when every rank uses a
 * GPU (and the ring is not empty), float32 otherwise.
 */
export function resolveAllreduceDtype(setting: AllreduceDtypeSetting, ranksUseGpu: readonly boolean[]): AllreduceWireDtype {
  if (setting !== 'auto') return setting;
  return ranksUseGpu.length > 0 && ranksUseGpu.every(Boolean) ? GPU_RING_WIRE_DTYPE : CPU_RING_WIRE_DTYPE;
}

/**
 * The format a worker uses for a generation: what its assignment says, or — from a coordinator
 * that sends none — the run's explicit setting, float32 for `auto`.
 *
 * @throws ConfigError for an assignment naming a format this worker does not know.
 */
export function wireDtypeOfAssignment(assigned: string, setting: AllreduceDtypeSetting): AllreduceWireDtype {
  if (assigned === '') return setting === 'auto' ? CPU_RING_WIRE_DTYPE : setting;
  if (assigned === 'float32' || assigned === 'float16') return assigned;
  throw new ConfigError('assignment.allreduceDtype', assigned, "'float32' or 'float16'");
}
