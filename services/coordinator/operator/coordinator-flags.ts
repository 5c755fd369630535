/**
 * How an Experiment's spec becomes the command line of its coordinator pod. One table maps each
 * training field of the spec to its `TrainConfig` key (validation, experiment-spec.ts) and to its
 * `encourage coordinator` flag (here), so the two can never drift apart. Only fields the user set
 * become flags: defaults stay the coordinator's own, which are the same parser's defaults.
 */
import type { ResolvedExperiment } from './experiment-spec.js';
import { COORDINATOR_GRPC_PORT, COORDINATOR_METRICS_PORT, WORKER_COLLECTIVE_PORT, WORKER_METRICS_PORT } from './experiment-types.js';

/** Where volumes are mounted in the pods (the contract: checkpoints at /checkpoints). */
export const CHECKPOINT_MOUNT_PATH = '/checkpoints';
export const DATA_MOUNT_PATH = '/data';

/** The coordinator's run directory (config.json, metrics.jsonl, checkpoints/) on the checkpoint volume. */
export function coordinatorRunDir(experiment: string): string {
  return `${CHECKPOINT_MOUNT_PATH}/${experiment}`;
}

export interface SpecField {
  /** Path below `spec`. */
  readonly path: readonly string[];
  /** The `TrainConfig` key `parseTrainConfig` validates it as. */
  readonly key: string;
  /** The coordinator flag. */
  readonly flag: string;
  /** value: `--flag v`; switch: `--flag` when true (false is the default); negated: `--flag` when false; list: comma-joined. */
  readonly kind: 'value' | 'switch' | 'negated' | 'list';
}

/** Training fields of the spec (dataset and loss have their own shapes and are mapped separately). */
export const SPEC_FIELDS: readonly SpecField[] = [
  { path: ['model'], key: 'model', flag: '--model', kind: 'value' },
  { path: ['epochs'], key: 'epochs', flag: '--epochs', kind: 'value' },
  { path: ['batchSize'], key: 'batchSize', flag: '--batch-size', kind: 'value' },
  { path: ['seed'], key: 'seed', flag: '--seed', kind: 'value' },
  { path: ['evalEvery'], key: 'evalEvery', flag: '--eval-every', kind: 'value' },
  { path: ['maxStepsPerEpoch'], key: 'maxStepsPerEpoch', flag: '--max-steps-per-epoch', kind: 'value' },
  { path: ['augment'], key: 'augment', flag: '--no-augment', kind: 'negated' },
  { path: ['backend'], key: 'backend', flag: '--backend', kind: 'value' },
  { path: ['optimizer', 'lr'], key: 'lr', flag: '--lr', kind: 'value' },
  { path: ['optimizer', 'momentum'], key: 'momentum', flag: '--momentum', kind: 'value' },
  { path: ['optimizer', 'weightDecay'], key: 'weightDecay', flag: '--weight-decay', kind: 'value' },
  { path: ['optimizer', 'nesterov'], key: 'nesterov', flag: '--nesterov', kind: 'switch' },
  { path: ['optimizer', 'lrScaling'], key: 'lrScaling', flag: '--lr-scaling', kind: 'value' },
  { path: ['optimizer', 'lrReferenceBatch'], key: 'lrReferenceBatch', flag: '--lr-reference-batch', kind: 'value' },
  { path: ['schedule', 'kind'], key: 'schedule', flag: '--schedule', kind: 'value' },
  { path: ['schedule', 'warmupEpochs'], key: 'warmupEpochs', flag: '--warmup-epochs', kind: 'value' },
  { path: ['allreduce', 'dtype'], key: 'allreduceDtype', flag: '--allreduce-dtype', kind: 'value' },
  { path: ['allreduce', 'bucketMb'], key: 'bucketMb', flag: '--bucket-mb', kind: 'value' },
  { path: ['allreduce', 'chunkKb'], key: 'chunkKb', flag: '--chunk-kb', kind: 'value' },
  { path: ['checkpoint', 'everySteps'], key: 'checkpointEverySteps', flag: '--checkpoint-every', kind: 'value' },
  { path: ['checkpoint', 'kept'], key: 'checkpointsKept', flag: '--checkpoints-kept', kind: 'value' },
  { path: ['metrics', 'confidenceEdges'], key: 'confidenceEdges', flag: '--confidence-edges', kind: 'list' },
  { path: ['metrics', 'highConfidenceThreshold'], key: 'highConfidenceThreshold', flag: '--high-confidence-threshold', kind: 'value' },
  { path: ['metrics', 'paramGradEverySteps'], key: 'paramGradEverySteps', flag: '--param-grad-every', kind: 'value' },
];

/** Spec paths of the keys that are not in `SPEC_FIELDS`, for error messages. */
const OTHER_KEY_PATHS: Record<string, string> = {
  experiment: 'metadata.name',
  data: 'spec.dataset.source',
  dataUrl: 'spec.dataset.url',
  dataDir: 'spec.dataset.pvc.subPath',
  syntheticTrain: 'spec.dataset.syntheticTrain',
  syntheticTest: 'spec.dataset.syntheticTest',
};

/** The spec path of a `TrainConfig` key (or `loss.*` path) named by a ConfigError. */
export function specPathOfKey(key: string): string {
  const field = SPEC_FIELDS.find((f) => f.key === key);
  if (field !== undefined) return `spec.${field.path.join('.')}`;
  if (key === 'loss' || key === 'loss.preset') return key === 'loss' ? 'spec.loss' : 'spec.loss.preset';
  if (key.startsWith('loss.')) return `spec.loss.options.${key.slice('loss.'.length)}`;
  return OTHER_KEY_PATHS[key] ?? `spec.${key}`;
}

/** Value at `path` below `obj`, or undefined. */
export function valueAt(obj: Record<string, unknown>, path: readonly string[]): unknown {
  let cur: unknown = obj;
  for (const p of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * Listen-address flags. Pods normally listen on all interfaces (so `kubectl port-forward` works);
 * with `bindPodIp` they bind the pod IP (`$(POD_IP)`, expanded by the kubelet from the Downward
 * API env) — for hosts where pods share one network namespace, like the fake kubelet of the tests.
 */
function bindFlags(bindPodIp: boolean, grpcFlag: string | null): string[] {
  return bindPodIp ? [...(grpcFlag === null ? [] : [grpcFlag, '$(POD_IP)']), '--metrics-host', '$(POD_IP)'] : [];
}

/** The coordinator container's arguments (after `encourage coordinator`). */
export function coordinatorArgs(r: ResolvedExperiment, bindPodIp = false): string[] {
  const args = ['--experiment', r.name, '--run-dir', coordinatorRunDir(r.name), '--resume', '--experiment-ref', `${r.namespace}/${r.name}`];
  args.push('--port', String(COORDINATOR_GRPC_PORT), '--metrics-port', String(COORDINATOR_METRICS_PORT), ...bindFlags(bindPodIp, '--host'));
  args.push('--min-workers', String(r.workers.minReplicas * r.workers.ranksPerPod), '--max-workers', String(r.workers.maxReplicas * r.workers.ranksPerPod));
  const d = r.dataset;
  if (d.source === 'synthetic') {
    args.push('--data', 'synthetic', '--synthetic-train', String(r.train.data.kind === 'synthetic' ? r.train.data.train : 0), '--synthetic-test', String(r.train.data.kind === 'synthetic' ? r.train.data.test : 0));
  } else {
    args.push('--data', 'cifar10', '--data-dir', r.train.data.kind === 'cifar10' ? r.train.data.dir : DATA_MOUNT_PATH);
    if (r.train.data.kind === 'cifar10' && r.train.data.download) args.push('--download');
    if (d.url !== null) args.push('--data-url', d.url);
  }
  if (r.lossFlag !== null) args.push('--loss', r.lossFlag);
  for (const f of SPEC_FIELDS) {
    const v = valueAt(r.spec, f.path);
    if (v === undefined || v === null) continue;
    if (f.kind === 'switch') {
      if (v === true || v === 'true') args.push(f.flag);
    } else if (f.kind === 'negated') {
      if (v === false || v === 'false') args.push(f.flag);
    } else if (f.kind === 'list') {
      args.push(f.flag, (v as unknown[]).map(String).join(','));
    } else {
      args.push(f.flag, String(v));
    }
  }
  return args;
}

/**
 * The worker container's arguments (after `encourage worker`). Process i of a pod listens on
 * collective port 7071 + i and metrics port 9091 + i (the ranges the chart's NetworkPolicy opens).
 */
export function workerArgs(r: ResolvedExperiment, bindPodIp = false): string[] {
  const procs = r.workers.procsPerPod;
  // The collective service binds the pod IP anyway (POD_IP is also the address peers dial).
  return ['--local-procs', procs === null ? 'auto' : String(procs), '--collective-port', String(WORKER_COLLECTIVE_PORT), '--metrics-port', String(WORKER_METRICS_PORT), ...bindFlags(bindPodIp, null)];
}
