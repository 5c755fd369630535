/**
 * The settings of `encourage operator`, typed and validated from its flags (the operator reads no
 * environment itself; client-node's KubeConfig finds the in-cluster service account or KUBECONFIG).
 */
import type { ExperimentTls } from './object-meta.js';
import { ConfigError } from '../../core/errors.js';
import { parseMetricsListen, type MetricsListen } from '../../core/metrics/metrics-options.js';
import type { BuildSettings } from './object-meta.js';
import { BACKEND_REQUESTS, type BackendRequest } from '../../core/training/names.js';
import { COORDINATOR_SERVICE_ACCOUNT } from './experiment-types.js';

/** The release the default images belong to (package.json version, the chart's appVersion). */
export const IMAGE_TAG = '0.1.0';
export const DEFAULT_IMAGE = `ghcr.io/encourage/encourage:${IMAGE_TAG}`;
export const DEFAULT_GPU_IMAGE = `ghcr.io/encourage/encourage-gpu:${IMAGE_TAG}`;
/** Backend of Experiments that name none: the worker's own preference order (docs/gpu.md). */
export const DEFAULT_EXPERIMENT_BACKEND: BackendRequest = 'auto';
export const DEFAULT_RESYNC_SECONDS = 300;
export const DEFAULT_CONCURRENCY = 4;
/** Server-side watch timeout (jittered up to 2×): how often a watch is renewed from its resourceVersion. */
export const DEFAULT_WATCH_TIMEOUT_SECONDS = 300;
export const DEFAULT_HEALTH_PORT = 7070;
export const DEFAULT_OPERATOR_METRICS_PORT = 9090;

export interface OperatorConfig {
  /** null: every namespace. */
  readonly namespaces: readonly string[] | null;
  readonly build: BuildSettings;
  readonly resyncMs: number;
  readonly concurrency: number;
  readonly watchTimeoutSeconds: number;
  readonly health: { readonly host: string; readonly port: number };
  readonly metrics: MetricsListen | null;
  readonly kubeconfig: string | undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Validate the flags of `encourage operator` (commander's camelCase keys). */
export function parseOperatorConfig(raw: Record<string, unknown>): OperatorConfig {
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = raw[key] ?? fallback;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(key, v, `an integer in [${min}, ${max}]`);
    return n;
  };
  const str = (key: string, fallback: string): string => {
    const v = raw[key] ?? fallback;
    if (typeof v !== 'string' || v.trim() === '') throw new ConfigError(key, v, 'a non-empty string');
    return v;
  };
  const list = ([] as unknown[]).concat(raw['namespace'] ?? []).flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (const ns of list) if (!DNS_LABEL.test(ns) || ns.length > 63) throw new ConfigError('namespace', ns, 'a namespace name (DNS label)');
  const healthHost = str('healthHost', '0.0.0.0');
  const serviceAccount = str('coordinatorServiceAccount', COORDINATOR_SERVICE_ACCOUNT);
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(serviceAccount)) throw new ConfigError('coordinatorServiceAccount', serviceAccount, 'a ServiceAccount name');
  return {
    namespaces: list.length === 0 ? null : [...new Set(list)],
    build: {
      image: str('image', DEFAULT_IMAGE),
      gpuImage: str('gpuImage', DEFAULT_GPU_IMAGE),
      defaultBackend: defaultBackend(raw['defaultBackend']),
      coordinatorServiceAccount: serviceAccount,
      bindPodIp: raw['bindPodIp'] === true,
      tls: experimentTls(raw),
    },
    resyncMs: int('resyncSeconds', DEFAULT_RESYNC_SECONDS, 1, 86_400) * 1000,
    concurrency: int('concurrency', DEFAULT_CONCURRENCY, 1, 64),
    watchTimeoutSeconds: int('watchTimeoutSeconds', DEFAULT_WATCH_TIMEOUT_SECONDS, 1, 3600),
    health: { host: healthHost, port: int('healthPort', DEFAULT_HEALTH_PORT, 0, 65535) },
    metrics: parseMetricsListen({ metricsPort: raw['metricsPort'], metricsHost: raw['metricsHost'] }, { port: DEFAULT_OPERATOR_METRICS_PORT }),
    kubeconfig: raw['kubeconfig'] === undefined ? undefined : str('kubeconfig', ''),
  };
}

/** `--default-backend`: one of the backends `encourage train --backend` accepts. */
function defaultBackend(v: unknown): BackendRequest {
  if (v === undefined) return DEFAULT_EXPERIMENT_BACKEND;
  const match = BACKEND_REQUESTS.find((b) => b === v);
  if (match === undefined) throw new ConfigError('defaultBackend', v, BACKEND_REQUESTS.join('|'));
  return match;
}

/** `--experiment-tls-secret` (+ `--experiment-tls-mutual`, `--experiment-tls-server-name`): TLS for the experiments' pods. */
function experimentTls(raw: Record<string, unknown>): ExperimentTls | null {
  const secret = raw['experimentTlsSecret'];
  if (secret === undefined || secret === '') {
    if (raw['experimentTlsMutual'] === true || raw['experimentTlsServerName'] !== undefined) throw new ConfigError('experimentTlsSecret', secret ?? null, 'a Secret name when --experiment-tls-mutual or --experiment-tls-server-name is given');
    return null;
  }
  if (typeof secret !== 'string' || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(secret)) throw new ConfigError('experimentTlsSecret', secret, 'a Secret name');
  const serverName = raw['experimentTlsServerName'];
  if (serverName !== undefined && (typeof serverName !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(serverName))) throw new ConfigError('experimentTlsServerName', serverName, 'a DNS name');
  return { secretName: secret, mutual: raw['experimentTlsMutual'] === true, serverName: (serverName as string | undefined) ?? null };
}
