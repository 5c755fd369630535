/**
 * The run's training configuration: everything a training job needs, typed and validated in one
 * place. The CLI maps flags (and an optional JSON config file) onto `parseTrainConfig`; the
 * coordinator resolves it once and sends it to every worker as JSON. Defaults follow the standard CIFAR-10 recipe of
 * kuangliu/pytorch-cifar (SGD 0.9, weight decay 5e-4, batch 128, cosine over 200 epochs).
 * `envDefaults` is the only place that reads the environment for it.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { parseLossOptions, type LossOptions } from '../loss/index.js';
import { DEFAULT_CONFIDENCE_EDGES, DEFAULT_HIGH_CONFIDENCE_THRESHOLD, validateEdges } from './confidence.js';
import { LR_SCHEDULES, type LrScheduleKind } from './lr-schedule.js';
import { BACKEND_REQUESTS, MODEL_NAMES, type BackendRequest, type ModelName } from './names.js';

export const DEFAULT_EPOCHS = 200;
export const DEFAULT_BATCH_SIZE = 128;
export const DEFAULT_LR = 0.1;
export const DEFAULT_MOMENTUM = 0.9;
export const DEFAULT_WEIGHT_DECAY = 5e-4;
/** Batch size the base LR is tuned for, for the linear scaling rule (kuangliu's recipe: 128). */
export const DEFAULT_LR_REFERENCE_BATCH = 128;
export const DEFAULT_SYNTHETIC_TRAIN_IMAGES = 10_000;
export const DEFAULT_SYNTHETIC_TEST_IMAGES = 2_000;
/** Every how many steps the high/low-confidence parameter-gradient norms are sampled. */
export const DEFAULT_PARAM_GRAD_EVERY_STEPS = 50;
export const DEFAULT_CHECKPOINTS_KEPT = 3;
/** Gradient all-reduce defaults (measured: docs/performance.md "All-reduce"). */
export const DEFAULT_ALLREDUCE_DTYPE = 'float32';
export const DEFAULT_BUCKET_MB = 64;
export const DEFAULT_CHUNK_KB = 1024;
/** Where runs go when `--run-dir` is not given (`ENCOURAGE_RUNS_DIR` overrides). */
export const DEFAULT_RUNS_DIR = 'runs';
/** Where datasets are cached (`ENCOURAGE_DATA_DIR` overrides). */
export const DEFAULT_DATA_DIR = '.data';

export type DataSource =
  | { readonly kind: 'synthetic'; readonly train: number; readonly test: number }
  | { readonly kind: 'cifar10'; readonly dir: string; readonly download: boolean; readonly url: string | null };

export interface TrainConfig {
  readonly experiment: string;
  readonly data: DataSource;
  readonly model: ModelName;
  readonly loss: LossOptions;
  readonly epochs: number;
  /** Per-worker batch size. */
  readonly batchSize: number;
  readonly lr: number;
  readonly lrScaling: 'none' | 'linear';
  readonly lrReferenceBatch: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  readonly schedule: LrScheduleKind;
  readonly warmupEpochs: number;
  readonly seed: number;
  readonly backend: BackendRequest;
  readonly augment: boolean;
  readonly runDir: string;
  readonly checkpointDir: string;
  /** Checkpoint every this many steps (0: only at epoch ends). */
  readonly checkpointEverySteps: number;
  readonly checkpointsKept: number;
  readonly resume: boolean;
  /** Evaluate on the test set every this many epochs (and always after the last). */
  readonly evalEvery: number;
  readonly confidenceEdges: readonly number[];
  readonly highConfidenceThreshold: number;
  readonly paramGradEverySteps: number;
  /** Stop each epoch after this many steps (0: the whole shard) — for smoke tests and benchmarks. */
  readonly maxStepsPerEpoch: number;
  /** Wire format and fusion of the gradient all-reduce (distributed runs). */
  readonly allreduce: { readonly dtype: 'float32' | 'float16'; readonly bucketMb: number; readonly chunkKb: number; readonly timeoutMs: number };
  /** What to do when a rank's loss or gradient is NaN/Inf: skip the update on every rank, or stop the run. */
  readonly onNonfinite: 'skip' | 'stop';
  /**
   * Benchmarks only (0: off): distributed workers replace forward and backward by this many
   * milliseconds of simulated device time per step, spread over the gradient buckets, so the
   * overlap of the all-reduce with compute can be measured on a machine without a GPU.
   */
  readonly simulatedComputeMs: number;
}

/** Upper bound of `simulatedComputeMs` (a step of a minute is no benchmark of overlap). */
export const MAX_SIMULATED_COMPUTE_MS = 60_000;

/** Longest an all-reduce waits for a peer before the step fails (the issue's bound: ≤ 30 s). */
export const DEFAULT_ALLREDUCE_TIMEOUT_MS = 30_000;
export const NONFINITE_POLICIES = ['skip', 'stop'] as const;

/** Environment variables the worker honours (read here and nowhere else). */
export function envDefaults(env: NodeJS.ProcessEnv = process.env): { runsDir: string; dataDir: string } {
  return { runsDir: env['ENCOURAGE_RUNS_DIR'] ?? DEFAULT_RUNS_DIR, dataDir: env['ENCOURAGE_DATA_DIR'] ?? DEFAULT_DATA_DIR };
}

const KEYS = [
  'experiment', 'data', 'dataDir', 'download', 'dataUrl', 'syntheticTrain', 'syntheticTest', 'model', 'loss', 'epochs',
  'batchSize', 'lr', 'lrScaling', 'lrReferenceBatch', 'momentum', 'weightDecay', 'nesterov', 'schedule', 'warmupEpochs',
  'seed', 'backend', 'augment', 'runDir', 'checkpointDir', 'checkpointEverySteps', 'checkpointsKept', 'resume', 'evalEvery',
  'confidenceEdges', 'highConfidenceThreshold', 'paramGradEverySteps', 'maxStepsPerEpoch', 'allreduceDtype', 'bucketMb', 'chunkKb', 'allreduceTimeoutMs', 'allreduce', 'onNonfinite',
  'simulatedComputeMs',
] as const;

/**
 * Validate a raw config (flags merged over a config file; camelCase keys as in `KEYS`) into a
 * `TrainConfig`. Errors name the key, as a user wrote it.
 */
export function parseTrainConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): TrainConfig {
  for (const key of Object.keys(raw)) {
    if (raw[key] !== undefined && !(KEYS as readonly string[]).includes(key)) throw new ConfigError(key, raw[key], `a known option (${KEYS.join(', ')})`);
  }
  const defaults = envDefaults(env);
  const experiment = str(raw, 'experiment', `run-${new Date().toISOString().toLowerCase().replace(/[:.]/g, '-')}`);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(experiment)) {
    throw new ConfigError('experiment', experiment, 'a DNS-1123 label (lowercase letters, digits, "-"; at most 63 characters)');
  }
  const dataKind = str(raw, 'data', raw['dataDir'] !== undefined ? 'cifar10' : 'synthetic');
  let data: DataSource;
  if (dataKind === 'synthetic') {
    data = { kind: 'synthetic', train: int(raw, 'syntheticTrain', DEFAULT_SYNTHETIC_TRAIN_IMAGES, 10), test: int(raw, 'syntheticTest', DEFAULT_SYNTHETIC_TEST_IMAGES, 10) };
  } else if (dataKind === 'cifar10') {
    data = { kind: 'cifar10', dir: str(raw, 'dataDir', defaults.dataDir), download: bool(raw, 'download', false), url: raw['dataUrl'] === undefined ? null : str(raw, 'dataUrl', '') };
  } else {
    throw new ConfigError('data', dataKind, "'synthetic' or 'cifar10'");
  }
  const model = str(raw, 'model', 'resnet18');
  if (!(MODEL_NAMES as readonly string[]).includes(model)) throw new ConfigError('model', model, `one of ${MODEL_NAMES.join(', ')}`);
  const schedule = str(raw, 'schedule', 'cosine');
  if (!(LR_SCHEDULES as readonly string[]).includes(schedule)) throw new ConfigError('schedule', schedule, LR_SCHEDULES.join('|'));
  const lrScaling = str(raw, 'lrScaling', 'none');
  if (lrScaling !== 'none' && lrScaling !== 'linear') throw new ConfigError('lrScaling', lrScaling, "'none' or 'linear'");
  const runDir = str(raw, 'runDir', `${defaults.runsDir}/${experiment}`);
  const edges = raw['confidenceEdges'] ?? DEFAULT_CONFIDENCE_EDGES;
  if (!Array.isArray(edges) || !edges.every((e) => typeof e === 'number')) throw new ConfigError('confidenceEdges', edges, 'an array of numbers from 0 to 1');
  try {
    validateEdges(edges as number[]);
  } catch (err) {
    throw new ConfigError('confidenceEdges', edges, 'strictly increasing numbers from 0 to 1', { cause: err });
  }
  const epochs = int(raw, 'epochs', DEFAULT_EPOCHS, 1);
  const warmupEpochs = num(raw, 'warmupEpochs', 0, (x) => x >= 0 && x < epochs, `a number in [0, epochs=${epochs})`);
  return {
    experiment,
    data,
    model: model as ModelName,
    loss: parseLossOptions(raw['loss'] ?? 'ce', 'loss'),
    epochs,
    batchSize: int(raw, 'batchSize', DEFAULT_BATCH_SIZE, 1),
    lr: num(raw, 'lr', DEFAULT_LR, (x) => x > 0, 'a number > 0'),
    lrScaling,
    lrReferenceBatch: int(raw, 'lrReferenceBatch', DEFAULT_LR_REFERENCE_BATCH, 1),
    momentum: num(raw, 'momentum', DEFAULT_MOMENTUM, (x) => x >= 0 && x < 1, 'a number in [0, 1)'),
    weightDecay: num(raw, 'weightDecay', DEFAULT_WEIGHT_DECAY, (x) => x >= 0, 'a number ≥ 0'),
    nesterov: bool(raw, 'nesterov', false),
    schedule: schedule as LrScheduleKind,
    warmupEpochs,
    seed: int(raw, 'seed', 0, 0),
    backend: oneOfStr(raw, 'backend', 'auto', BACKEND_REQUESTS),
    augment: bool(raw, 'augment', true),
    runDir,
    checkpointDir: str(raw, 'checkpointDir', `${runDir}/checkpoints`),
    checkpointEverySteps: int(raw, 'checkpointEverySteps', 0, 0),
    checkpointsKept: int(raw, 'checkpointsKept', DEFAULT_CHECKPOINTS_KEPT, 1),
    resume: bool(raw, 'resume', false),
    evalEvery: int(raw, 'evalEvery', 1, 1),
    confidenceEdges: edges as number[],
    highConfidenceThreshold: num(raw, 'highConfidenceThreshold', DEFAULT_HIGH_CONFIDENCE_THRESHOLD, (x) => x > 0 && x < 1, 'a number in (0, 1)'),
    paramGradEverySteps: int(raw, 'paramGradEverySteps', DEFAULT_PARAM_GRAD_EVERY_STEPS, 0),
    maxStepsPerEpoch: int(raw, 'maxStepsPerEpoch', 0, 0),
    allreduce: parseAllreduce(raw),
    onNonfinite: oneOfStr(raw, 'onNonfinite', 'stop', NONFINITE_POLICIES),
    simulatedComputeMs: num(raw, 'simulatedComputeMs', 0, (x) => x >= 0 && x <= MAX_SIMULATED_COMPUTE_MS, `milliseconds in [0, ${MAX_SIMULATED_COMPUTE_MS}]`),
  };
}

/** Flat flags (`allreduceDtype`, `bucketMb`, `chunkKb`) or the nested `allreduce` object of a resolved config. */
function parseAllreduce(raw: Record<string, unknown>): TrainConfig['allreduce'] {
  const nested = (raw['allreduce'] ?? {}) as Record<string, unknown>;
  const flat = { dtype: raw['allreduceDtype'] ?? nested['dtype'], bucketMb: raw['bucketMb'] ?? nested['bucketMb'], chunkKb: raw['chunkKb'] ?? nested['chunkKb'], timeoutMs: raw['allreduceTimeoutMs'] ?? nested['timeoutMs'] };
  const dtype = flat.dtype ?? DEFAULT_ALLREDUCE_DTYPE;
  if (dtype !== 'float32' && dtype !== 'float16') throw new ConfigError('allreduceDtype', dtype, "'float32' or 'float16'");
  return {
    dtype,
    bucketMb: num({ bucketMb: flat.bucketMb }, 'bucketMb', DEFAULT_BUCKET_MB, (x) => x > 0 && x <= 1024, 'a number in (0, 1024]'),
    chunkKb: int({ chunkKb: flat.chunkKb }, 'chunkKb', DEFAULT_CHUNK_KB, 1),
    timeoutMs: int({ allreduceTimeoutMs: flat.timeoutMs }, 'allreduceTimeoutMs', DEFAULT_ALLREDUCE_TIMEOUT_MS, 100),
  };
}

function str(raw: Record<string, unknown>, key: string, fallback: string): string {
  const v = raw[key] ?? fallback;
  if (typeof v !== 'string' || v === '') throw new ConfigError(key, v, 'a non-empty string');
  return v;
}

function oneOfStr<T extends string>(raw: Record<string, unknown>, key: string, fallback: T, allowed: readonly T[]): T {
  const v = str(raw, key, fallback);
  if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(key, v, allowed.join('|'));
  return v as T;
}

function num(raw: Record<string, unknown>, key: string, fallback: number, ok: (x: number) => boolean, expected: string): number {
  const v = coerceNumber(raw[key] ?? fallback);
  if (v === null || !ok(v)) throw new ConfigError(key, raw[key], expected);
  return v;
}

function int(raw: Record<string, unknown>, key: string, fallback: number, min: number): number {
  const v = coerceNumber(raw[key] ?? fallback);
  if (v === null || !Number.isSafeInteger(v) || v < min) throw new ConfigError(key, raw[key], `an integer ≥ ${min}`);
  return v;
}

function bool(raw: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = raw[key] ?? fallback;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(key, v, 'true or false');
}

/** Flags arrive as strings, config files as numbers: accept both, reject anything else. */
function coerceNumber(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/**
 * A short hash of what must be identical on every replica of a run (model and loss), so that a
 * worker started for another experiment cannot join it.
 */
export function configFingerprint(config: Pick<TrainConfig, 'model' | 'loss'>): string {
  const canonical = canonicalJson({ model: config.model, loss: { ...config.loss, preset: null } });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level, so equal values always hash equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The raw form of a resolved config — what the coordinator sends to workers, which validate it
 * again with `parseTrainConfig` (so a worker never trusts an unchecked document).
 * `parseTrainConfig(serializeTrainConfig(c))` equals `c`.
 */
export function serializeTrainConfig(c: TrainConfig): Record<string, unknown> {
  const { data, loss, ...rest } = c;
  const dataRaw =
    data.kind === 'synthetic'
      ? { data: 'synthetic', syntheticTrain: data.train, syntheticTest: data.test }
      : { data: 'cifar10', dataDir: data.dir, download: data.download, ...(data.url === null ? {} : { dataUrl: data.url }) };
  const { preset, ...lossOptions } = loss;
  return { ...rest, ...dataRaw, loss: preset === null ? lossOptions : { preset, ...lossOptions } };
}
