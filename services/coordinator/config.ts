/**
 * The coordinator's own settings (how it listens, how the rendezvous behaves), typed and validated;
 * the run's training configuration is the shared `TrainConfig`. The only coordinator module that
 * reads `process.env`.
 */
import { ConfigError } from '../core/errors.js';
import { parseTlsSettings, tlsFlagsFrom, type TlsSettings } from '../core/tls.js';

export const DEFAULT_COORDINATOR_HOST = '0.0.0.0';
export const DEFAULT_COORDINATOR_PORT = 7070;
/** How long the rendezvous waits for more than `minWorkers` (torchrun's last call). */
export const DEFAULT_RENDEZVOUS_GRACE_MS = 2_000;
export const HEARTBEAT_INTERVAL_MS = 2_000;
/** A worker silent for this long is lost (5 missed heartbeats; Horovod's elastic default is similar). */
export const HEARTBEAT_TIMEOUT_MS = 10_000;
/**
 * How long a re-rendezvous waits for members that stay silent about re-joining, and for enough
 * workers (minWorkers) before the run fails — torchrun's rdzv timeout is 900 s; replacement pods
 * need time to be scheduled.
 */
export const RENDEZVOUS_TIMEOUT_MS = 600_000;
/** Longest a WaitAssignment long poll is held before it answers "not yet". */
export const WAIT_ASSIGNMENT_MAX_MS = 10_000;
/** How long a finished run waits for its workers to leave before the coordinator stops serving. */
export const WORKER_LEAVE_GRACE_MS = 30_000;
/** Upper bound of one gRPC message to the coordinator (checkpoint chunks are the largest). */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Bound of a whole streamed checkpoint (ResNet-18 with momentum is ~90 MB). */
export const MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024;

export interface CoordinatorConfig {
  readonly host: string;
  readonly port: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly rendezvousGraceMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly rendezvousTimeoutMs: number;
  /** Shared secret workers must present to register (null: none). */
  readonly joinToken: string | null;
  /** TLS for the coordinator's gRPC server (null: plaintext). */
  readonly tls: TlsSettings | null;
}

/** Validate coordinator settings; flags win over `ENCOURAGE_JOIN_TOKEN` and the `ENCOURAGE_TLS_*` variables. */
export function parseCoordinatorConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  const int = (key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = raw[key] ?? fallback;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(key, v, `an integer in [${min}, ${max}]`);
    return n;
  };
  const minWorkers = int('minWorkers', 1, 1);
  const maxWorkers = int('maxWorkers', minWorkers, minWorkers);
  const host = raw['host'] ?? DEFAULT_COORDINATOR_HOST;
  if (typeof host !== 'string' || host === '') throw new ConfigError('host', host, 'a host name or address');
  const token = raw['joinToken'] ?? env['ENCOURAGE_JOIN_TOKEN'] ?? null;
  if (token !== null && (typeof token !== 'string' || token.length < 8)) throw new ConfigError('joinToken', '<redacted>', 'a string of at least 8 characters');
  const heartbeatIntervalMs = int('heartbeatIntervalMs', HEARTBEAT_INTERVAL_MS, 50);
  const heartbeatTimeoutMs = int('heartbeatTimeoutMs', Math.max(HEARTBEAT_TIMEOUT_MS, 3 * heartbeatIntervalMs), 1);
  if (heartbeatTimeoutMs < 2 * heartbeatIntervalMs) throw new ConfigError('heartbeatTimeoutMs', heartbeatTimeoutMs, `at least twice heartbeatIntervalMs (${heartbeatIntervalMs})`);
  return {
    host,
    port: int('port', DEFAULT_COORDINATOR_PORT, 0, 65535),
    minWorkers,
    maxWorkers,
    rendezvousGraceMs: int('rendezvousGraceMs', DEFAULT_RENDEZVOUS_GRACE_MS, 0),
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    rendezvousTimeoutMs: int('rendezvousTimeoutMs', RENDEZVOUS_TIMEOUT_MS, 100),
    joinToken: token as string | null,
    tls: parseTlsSettings(tlsFlagsFrom(raw, env)),
  };
}
