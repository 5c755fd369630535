/**
 * Where a process serves `/metrics` and `/healthz`: the `--metrics-port` and `--metrics-host`
 * flags of `coordinator`, `worker` and `train --workers`, validated in one place.
 */
import { ConfigError } from '../errors.js';

/** Listen on all interfaces by default: in a pod, Prometheus scrapes the pod IP. */
export const DEFAULT_METRICS_HOST = '0.0.0.0';
/**
 * 0 = an ephemeral port, logged when bound — safe when many processes share a machine (tests,
 * laptops). Pods set a fixed port (docs/observability.md suggests 9400) so scrape configs can
 * name it.
 */
export const DEFAULT_METRICS_PORT = 0;
/** `--metrics-port off` disables the endpoint. */
export const METRICS_OFF = 'off';

export interface MetricsListen {
  readonly host: string;
  /** 0: ephemeral. */
  readonly port: number;
}

/**
 * Parse `metricsPort` (a port, 0, or `off`) and `metricsHost` flag values. Returns null when
 * metrics are off. Throws ConfigError naming the bad value.
 */
export function parseMetricsListen(raw: { metricsPort?: unknown; metricsHost?: unknown }, defaults: Partial<MetricsListen> = {}): MetricsListen | null {
  const portRaw = raw.metricsPort ?? defaults.port ?? DEFAULT_METRICS_PORT;
  if (portRaw === METRICS_OFF || portRaw === false) return null;
  const port = typeof portRaw === 'string' && /^\d+$/.test(portRaw.trim()) ? Number(portRaw) : portRaw;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError('metrics-port', portRaw, `a port in [0, 65535] (0: ephemeral) or "${METRICS_OFF}"`);
  }
  const host = raw.metricsHost ?? defaults.host ?? DEFAULT_METRICS_HOST;
  if (typeof host !== 'string' || host.trim() === '' || /\s|\//.test(host)) throw new ConfigError('metrics-host', host, 'a host name or IP address');
  return { host, port };
}

/**
 * The listen address of the `index`-th process sharing one base setting (the workers of a pod or
 * of `train --workers`): a fixed base port P gives P + offset, ephemeral stays ephemeral.
 */
export function offsetListen(listen: MetricsListen, offset: number): MetricsListen {
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`metrics port offset must be a non-negative integer, got ${offset}`);
  if (listen.port === 0) return listen;
  const port = listen.port + offset;
  if (port > 65535) throw new ConfigError('metrics-port', listen.port, `a base port that leaves room for ${offset + 1} processes (≤ ${65535 - offset})`);
  return { host: listen.host, port };
}

/** The flag values that reproduce `listen` (null: off) for a child process's command line. */
export function metricsFlags(listen: MetricsListen | null): string[] {
  return listen === null ? ['--metrics-port', METRICS_OFF] : ['--metrics-port', String(listen.port), '--metrics-host', listen.host];
}
