/**
 * Validation of an Experiment's spec into what the operator builds from. The training fields go
 * through the project's own `parseTrainConfig` and loss-option parser — the very checks the
 * coordinator applies to its flags — so an invalid spec fails here, as a Failed/Invalid condition
 * naming the field (`spec.optimizer.lr`), instead of as a coordinator pod in a crash loop. The CRD's
 * schema already rejects most type errors at admission; this is the check that knows the
 * cross-field rules (loss option combinations, replicas within min/max) and does not trust that the
 * schema was installed.
 */
import { ConfigError } from '../../core/errors.js';
import { parseLossOptions } from '../../core/loss/index.js';
import type { BackendRequest } from '../../core/training/names.js';
import { parseTrainConfig, type TrainConfig } from '../../core/training/train-config.js';
import { coordinatorRunDir, DATA_MOUNT_PATH, SPEC_FIELDS, specPathOfKey, valueAt } from './coordinator-flags.js';
import type { Experiment } from './experiment-types.js';
import { checkGpusPerPod, GPU_RESOURCE, type BackendSource } from './gpu-placement.js';

export const CLEAN_POD_POLICIES = ['None', 'Running', 'All'] as const;
export type CleanPodPolicy = (typeof CLEAN_POD_POLICIES)[number];
export const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export const DEFAULT_BACKOFF_LIMIT = 3;
/**
 * Longest experiment name: `<name>-coordinator` must still be a 63-character DNS label (Service
 * names are RFC 1035 labels, so the name must also start with a letter).
 */
export const MAX_EXPERIMENT_NAME_LENGTH = 63 - '-coordinator'.length;

export interface WorkerSettings {
  readonly replicas: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly gpusPerPod: number;
  /** Processes per pod; null = one per visible GPU (`--local-procs auto`; never for webgpu, which sees one GPU). */
  readonly procsPerPod: number | null;
  /** Ranks each pod contributes (procsPerPod, or gpusPerPod when auto). */
  readonly ranksPerPod: number;
  readonly image: string | null;
  readonly imagePullPolicy: string | null;
  readonly resources: Record<string, unknown> | null;
  readonly nodeSelector: Record<string, string> | null;
  readonly tolerations: Record<string, unknown>[] | null;
  readonly priorityClassName: string | null;
}

export interface ResolvedExperiment {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  /** The raw spec (validated) with the operator's default backend filled in, for the flag mapping. */
  readonly spec: Record<string, unknown>;
  /** The run configuration the coordinator will resolve from its flags. */
  readonly train: TrainConfig;
  /** `--loss` value: a preset name or JSON; null = the default (ce). */
  readonly lossFlag: string | null;
  readonly dataset: { readonly source: 'synthetic' | 'cifar10'; readonly url: string | null; readonly pvc: { readonly claimName: string; readonly subPath: string | null } | null };
  readonly checkpointPvc: string | null;
  readonly workers: WorkerSettings;
  readonly runPolicy: { readonly backoffLimit: number; readonly activeDeadlineSeconds: number | null; readonly cleanPodPolicy: CleanPodPolicy };
}

const KEYS: Record<string, readonly string[]> = {
  spec: ['dataset', 'model', 'loss', 'optimizer', 'schedule', 'epochs', 'batchSize', 'seed', 'evalEvery', 'maxStepsPerEpoch', 'augment', 'backend', 'allreduce', 'workers', 'checkpoint', 'metrics', 'runPolicy'],
  'spec.dataset': ['source', 'url', 'pvc', 'syntheticTrain', 'syntheticTest'],
  'spec.dataset.pvc': ['claimName', 'subPath'],
  'spec.loss': ['preset', 'options'],
  'spec.optimizer': ['lr', 'momentum', 'weightDecay', 'nesterov', 'lrScaling', 'lrReferenceBatch'],
  'spec.schedule': ['kind', 'warmupEpochs'],
  'spec.allreduce': ['dtype', 'bucketMb', 'chunkKb'],
  'spec.workers': ['replicas', 'minReplicas', 'maxReplicas', 'gpusPerPod', 'procsPerPod', 'image', 'imagePullPolicy', 'resources', 'nodeSelector', 'tolerations', 'priorityClassName'],
  'spec.checkpoint': ['pvc', 'everySteps', 'kept'],
  'spec.checkpoint.pvc': ['claimName'],
  'spec.metrics': ['confidenceEdges', 'highConfidenceThreshold', 'paramGradEverySteps'],
  'spec.runPolicy': ['backoffLimit', 'activeDeadlineSeconds', 'cleanPodPolicy'],
};

/**
 * Validate `exp` and resolve everything the builders need. Throws `ConfigError` whose key is the
 * offending field's path (`metadata.name`, `spec.workers.replicas`, `spec.loss.options.logEnd`, …).
 *
 * @param defaultBackend the backend of a spec without `backend` (`encourage operator
 *   --default-backend`, the chart's `experimentDefaults.backend`). The CRD has no static default
 *   for the field, so that this one applies; the resolved spec names the backend either way, and so
 *   does the coordinator's command line.
 */
export function resolveExperimentSpec(exp: Experiment, defaultBackend: BackendRequest = 'auto'): ResolvedExperiment {
  const name = exp.metadata.name ?? '';
  if (!/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > MAX_EXPERIMENT_NAME_LENGTH) {
    throw new ConfigError('metadata.name', name, `an RFC 1035 label of at most ${MAX_EXPERIMENT_NAME_LENGTH} characters (so that "<name>-coordinator" is a valid Service name)`);
  }
  const spec = object(exp.spec, 'spec', true)!;
  checkKeys(spec, 'spec');
  for (const path of Object.keys(KEYS)) {
    if (path === 'spec') continue;
    const v = valueAt(spec, path.split('.').slice(1));
    if (v !== undefined) checkKeys(object(v, path, true)!, path);
  }
  const dataset = resolveDataset(spec);
  // The coordinator always runs with --resume: a replaced coordinator continues from the claim.
  const raw: Record<string, unknown> = { experiment: name, runDir: coordinatorRunDir(name), data: dataset.source, resume: true };
  if (dataset.source === 'synthetic') {
    for (const k of ['syntheticTrain', 'syntheticTest'] as const) if (valueAt(spec, ['dataset', k]) !== undefined) raw[k] = valueAt(spec, ['dataset', k]);
  } else {
    raw['dataDir'] = dataset.pvc?.subPath ? `${DATA_MOUNT_PATH}/${dataset.pvc.subPath}` : DATA_MOUNT_PATH;
    // Without a dataset volume every worker downloads into its own emptyDir; with one, only when a
    // URL is given (the downloader keeps an existing copy, so restarts download nothing).
    raw['download'] = dataset.pvc === null || dataset.url !== null;
    if (dataset.url !== null) raw['dataUrl'] = dataset.url;
  }
  const backendSource: BackendSource = spec['backend'] === undefined || spec['backend'] === null ? 'operator default' : 'spec';
  if (backendSource === 'operator default') raw['backend'] = defaultBackend;
  for (const f of SPEC_FIELDS) {
    const v = valueAt(spec, f.path);
    if (v !== undefined && v !== null) raw[f.key] = v;
  }
  const lossFlag = resolveLoss(spec);
  if (lossFlag !== null) raw['loss'] = lossFlag.startsWith('{') ? (JSON.parse(lossFlag) as unknown) : lossFlag;
  let train: TrainConfig;
  try {
    train = parseTrainConfig(raw, {});
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(specPathOfKey(err.key), err.value, err.expected, { cause: err });
    throw err;
  }
  const checkpointPvc = valueAt(spec, ['checkpoint', 'pvc']) === undefined ? null : str(valueAt(spec, ['checkpoint', 'pvc', 'claimName']), 'spec.checkpoint.pvc.claimName', true)!;
  return {
    name,
    namespace: exp.metadata.namespace ?? 'default',
    uid: exp.metadata.uid ?? '',
    spec: backendSource === 'spec' ? spec : { ...spec, backend: train.backend },
    train,
    lossFlag,
    dataset,
    checkpointPvc,
    workers: resolveWorkers(spec, train.backend, backendSource),
    runPolicy: resolveRunPolicy(spec),
  };
}

function resolveDataset(spec: Record<string, unknown>): ResolvedExperiment['dataset'] {
  const source = str(valueAt(spec, ['dataset', 'source']), 'spec.dataset.source') ?? 'cifar10';
  if (source !== 'synthetic' && source !== 'cifar10') throw new ConfigError('spec.dataset.source', source, "'synthetic' or 'cifar10'");
  const url = str(valueAt(spec, ['dataset', 'url']), 'spec.dataset.url');
  const pvcRaw = valueAt(spec, ['dataset', 'pvc']);
  const pvc = pvcRaw === undefined ? null : { claimName: str(valueAt(spec, ['dataset', 'pvc', 'claimName']), 'spec.dataset.pvc.claimName', true)!, subPath: str(valueAt(spec, ['dataset', 'pvc', 'subPath']), 'spec.dataset.pvc.subPath') };
  if (pvc?.subPath !== null && pvc?.subPath !== undefined && (pvc.subPath.startsWith('/') || pvc.subPath.split('/').includes('..'))) {
    throw new ConfigError('spec.dataset.pvc.subPath', pvc.subPath, 'a relative path without ".."');
  }
  if (source === 'synthetic' && (url !== null || pvc !== null)) throw new ConfigError(url !== null ? 'spec.dataset.url' : 'spec.dataset.pvc', url ?? pvcRaw, "nothing: synthetic data is generated, not read (source is 'synthetic')");
  return { source, url, pvc };
}

/** `spec.loss` → the `--loss` flag value (validated with the loss library's parser). */
function resolveLoss(spec: Record<string, unknown>): string | null {
  const loss = spec['loss'];
  if (loss === undefined) return null;
  const preset = valueAt(spec, ['loss', 'preset']);
  const options = object(valueAt(spec, ['loss', 'options']), 'spec.loss.options');
  if (options === null || Object.keys(options).length === 0) {
    if (preset === undefined) return null;
    parseLossOptions(preset, 'spec.loss.preset');
    return String(preset);
  }
  if (Object.hasOwn(options, 'preset')) throw new ConfigError('spec.loss.options.preset', options['preset'], 'spec.loss.preset instead');
  const merged = preset === undefined ? { ...options } : { preset, ...options };
  try {
    parseLossOptions(merged, 'loss');
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(specPathOfKey(err.key), err.value, err.expected, { cause: err });
    throw err;
  }
  return JSON.stringify(merged);
}

function resolveWorkers(spec: Record<string, unknown>, backend: BackendRequest, backendSource: BackendSource): WorkerSettings {
  if (spec['workers'] === undefined) throw new ConfigError('spec.workers', undefined, 'an object with at least replicas (required)');
  const w = (k: string) => valueAt(spec, ['workers', k]);
  const replicas = int(w('replicas'), 'spec.workers.replicas', 1, true)!;
  // Unset bounds default to replicas (a fixed-size run), but never past the bound that is set.
  const maxSet = int(w('maxReplicas'), 'spec.workers.maxReplicas', 1);
  const minSet = int(w('minReplicas'), 'spec.workers.minReplicas', 1);
  const maxReplicas = maxSet ?? Math.max(replicas, minSet ?? 1);
  const minReplicas = minSet ?? Math.min(replicas, maxReplicas);
  if (minReplicas > maxReplicas) throw new ConfigError('spec.workers.minReplicas', minReplicas, `an integer ≤ maxReplicas (${maxReplicas})`);
  if (replicas < minReplicas || replicas > maxReplicas) throw new ConfigError('spec.workers.replicas', replicas, `an integer in [minReplicas ${minReplicas}, maxReplicas ${maxReplicas}]`);
  const gpusPerPod = int(w('gpusPerPod'), 'spec.workers.gpusPerPod', 0) ?? 0;
  // One process per GPU, except on webgpu: Dawn sees one adapter per pod (gpu-placement.ts).
  const procsPerPod = int(w('procsPerPod'), 'spec.workers.procsPerPod', 1) ?? (gpusPerPod > 0 && backend !== 'webgpu' ? null : 1);
  const pullPolicy = str(w('imagePullPolicy'), 'spec.workers.imagePullPolicy');
  if (pullPolicy !== null && !(IMAGE_PULL_POLICIES as readonly string[]).includes(pullPolicy)) throw new ConfigError('spec.workers.imagePullPolicy', pullPolicy, IMAGE_PULL_POLICIES.join('|'));
  const resources = object(w('resources'), 'spec.workers.resources');
  if (resources !== null) checkResources(resources, gpusPerPod);
  const gpuLimit = resources === null ? undefined : valueAt(resources, ['limits', GPU_RESOURCE]);
  checkGpusPerPod(backend, backendSource, gpusPerPod > 0 || gpuLimit === undefined ? { count: gpusPerPod, field: 'spec.workers.gpusPerPod' } : { count: Number(gpuLimit), field: `spec.workers.resources.limits.${GPU_RESOURCE}` });
  const nodeSelector = object(w('nodeSelector'), 'spec.workers.nodeSelector');
  for (const [k, v] of Object.entries(nodeSelector ?? {})) if (typeof v !== 'string') throw new ConfigError(`spec.workers.nodeSelector.${k}`, v, 'a string');
  const tolerations = w('tolerations');
  if (tolerations !== undefined && (!Array.isArray(tolerations) || !tolerations.every((t) => typeof t === 'object' && t !== null && !Array.isArray(t)))) {
    throw new ConfigError('spec.workers.tolerations', tolerations, 'an array of core/v1 Toleration objects');
  }
  return {
    replicas, minReplicas, maxReplicas, gpusPerPod, procsPerPod,
    ranksPerPod: procsPerPod ?? Math.max(1, gpusPerPod),
    image: str(w('image'), 'spec.workers.image'),
    imagePullPolicy: pullPolicy,
    resources,
    nodeSelector: nodeSelector as Record<string, string> | null,
    tolerations: (tolerations as Record<string, unknown>[] | undefined) ?? null,
    priorityClassName: str(w('priorityClassName'), 'spec.workers.priorityClassName'),
  };
}

/** Kubernetes quantity syntax (apimachinery resource.Quantity): a number with an optional suffix. */
const QUANTITY = /^[+]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkKMGTPE]|[eE][+-]?\d+)?$/;

function checkResources(resources: Record<string, unknown>, gpusPerPod: number): void {
  for (const [section, value] of Object.entries(resources)) {
    if (section !== 'limits' && section !== 'requests' && section !== 'claims') throw new ConfigError(`spec.workers.resources.${section}`, value, 'one of limits, requests, claims');
    if (section === 'claims') continue;
    const map = object(value, `spec.workers.resources.${section}`, true)!;
    for (const [res, q] of Object.entries(map)) {
      if (!(typeof q === 'number' && q >= 0) && !(typeof q === 'string' && QUANTITY.test(q))) throw new ConfigError(`spec.workers.resources.${section}.${res}`, q, 'a Kubernetes quantity such as "2", "500m" or "4Gi"');
    }
  }
  const gpuLimit = valueAt(resources, ['limits', GPU_RESOURCE]);
  if (gpuLimit !== undefined && gpusPerPod > 0 && Number(gpuLimit) !== gpusPerPod) {
    throw new ConfigError(`spec.workers.resources.limits.${GPU_RESOURCE}`, gpuLimit, `${gpusPerPod} (spec.workers.gpusPerPod) or nothing`);
  }
}

function resolveRunPolicy(spec: Record<string, unknown>): ResolvedExperiment['runPolicy'] {
  const p = (k: string) => valueAt(spec, ['runPolicy', k]);
  const cleanPodPolicy = str(p('cleanPodPolicy'), 'spec.runPolicy.cleanPodPolicy') ?? 'Running';
  if (!(CLEAN_POD_POLICIES as readonly string[]).includes(cleanPodPolicy)) throw new ConfigError('spec.runPolicy.cleanPodPolicy', cleanPodPolicy, CLEAN_POD_POLICIES.join('|'));
  return {
    backoffLimit: int(p('backoffLimit'), 'spec.runPolicy.backoffLimit', 0) ?? DEFAULT_BACKOFF_LIMIT,
    activeDeadlineSeconds: int(p('activeDeadlineSeconds'), 'spec.runPolicy.activeDeadlineSeconds', 1),
    cleanPodPolicy: cleanPodPolicy as CleanPodPolicy,
  };
}

function checkKeys(obj: Record<string, unknown>, path: string): void {
  const allowed = KEYS[path];
  if (allowed === undefined) return;
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new ConfigError(`${path}.${key}`, obj[key], `no such field; known: ${allowed.join(', ')}`);
  }
}

function object(v: unknown, path: string, required = false): Record<string, unknown> | null {
  if (v === undefined || v === null) {
    if (required) throw new ConfigError(path, v, 'an object');
    return null;
  }
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(path, v, 'an object');
  return v as Record<string, unknown>;
}

function str(v: unknown, path: string, required = false): string | null {
  if (v === undefined || v === null) {
    if (required) throw new ConfigError(path, v, 'a non-empty string (required)');
    return null;
  }
  if (typeof v !== 'string' || v === '') throw new ConfigError(path, v, 'a non-empty string');
  return v;
}

function int(v: unknown, path: string, min: number, required = false): number | null {
  if (v === undefined || v === null) {
    if (required) throw new ConfigError(path, v, `an integer ≥ ${min} (required)`);
    return null;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw new ConfigError(path, v, `an integer ≥ ${min}`);
  return v;
}
