/**
 * Transport security of every gRPC connection (coordinator service and the collective data
 * plane): plaintext by default, TLS when a certificate and key are given, mutual TLS when the
 * servers also require client certificates signed by the CA. Certificates are PEM files, as a
 * Kubernetes Secret of type kubernetes.io/tls mounts them (tls.crt, tls.key, ca.crt): `--tls-dir`
 * names such a directory, `--tls-ca/--tls-cert/--tls-key` name (or override) single files.
 *
 * One certificate per process serves both as its server certificate and, with mutual TLS, as its
 * client certificate. Peers are dialled by IP address, which pod certificates rarely name, so
 * `serverName` sets the name every server certificate must carry (grpc's
 * `grpc.ssl_target_name_override`) — e.g. one SAN `encourage.internal` for a whole run.
 * See docs/security.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ConfigError } from './errors.js';

export interface TlsSettings {
  /** PEM file of the CA that signs every certificate of the run. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Servers require and verify client certificates (mutual TLS). */
  readonly mutual: boolean;
  /** Name every server certificate must carry (null: the dialled host). */
  readonly serverName: string | null;
}

/** The loaded PEM material, with credentials factories. */
export interface TlsMaterial {
  readonly settings: TlsSettings;
  /** The PEM contents, for transports that are not grpc-js (the collective's lean data path). */
  readonly pem: { readonly ca: Buffer; readonly cert: Buffer; readonly key: Buffer };
  serverCredentials(): grpc.ServerCredentials;
  channelCredentials(): grpc.ChannelCredentials;
  /** Channel options that go with channelCredentials (the server-name override). */
  channelOptions(): grpc.ChannelOptions;
}

/** The TLS inputs: flags (camelCase, as commander names them) or their environment variables. */
export interface TlsFlags {
  readonly tlsDir?: unknown;
  readonly tlsCa?: unknown;
  readonly tlsCert?: unknown;
  readonly tlsKey?: unknown;
  readonly tlsMutual?: unknown;
  readonly tlsServerName?: unknown;
}

/** Flag and environment variable of each TLS input (error messages name both). */
export const TLS_FLAGS = {
  tlsDir: { flag: '--tls-dir', env: 'ENCOURAGE_TLS_DIR' },
  tlsCa: { flag: '--tls-ca', env: 'ENCOURAGE_TLS_CA' },
  tlsCert: { flag: '--tls-cert', env: 'ENCOURAGE_TLS_CERT' },
  tlsKey: { flag: '--tls-key', env: 'ENCOURAGE_TLS_KEY' },
  tlsMutual: { flag: '--tls-mutual', env: 'ENCOURAGE_TLS_MUTUAL' },
  tlsServerName: { flag: '--tls-server-name', env: 'ENCOURAGE_TLS_SERVER_NAME' },
} as const satisfies Record<keyof TlsFlags, { flag: string; env: string }>;

/** Every environment variable that configures TLS (a plaintext-only launcher removes them). */
export const TLS_ENV_VARS: readonly string[] = Object.values(TLS_FLAGS).map((f) => f.env);

/** File names of a kubernetes.io/tls Secret (plus the conventional ca.crt), as mounted in a pod. */
export const SECRET_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

/** `--tls-ca (ENCOURAGE_TLS_CA)`: how an error names a TLS input. */
function named(key: keyof TlsFlags): string {
  return `${TLS_FLAGS[key].flag} (${TLS_FLAGS[key].env})`;
}

const given = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

/**
 * The TLS inputs of a process: each flag, else its environment variable (flags win, like every
 * other setting). `env` is passed in by the service's config.ts, the only reader of process.env.
 */
export function tlsFlagsFrom(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): TlsFlags {
  const pick = (key: keyof TlsFlags): unknown => (given(raw[key]) ? raw[key] : env[TLS_FLAGS[key].env]);
  const mutualEnv = env[TLS_FLAGS.tlsMutual.env];
  if (raw['tlsMutual'] === undefined && mutualEnv !== undefined && mutualEnv !== '' && mutualEnv !== 'true' && mutualEnv !== 'false') {
    throw new ConfigError(named('tlsMutual'), mutualEnv, "'true' or 'false'");
  }
  return {
    tlsDir: pick('tlsDir'), tlsCa: pick('tlsCa'), tlsCert: pick('tlsCert'), tlsKey: pick('tlsKey'),
    tlsMutual: raw['tlsMutual'] ?? (mutualEnv === 'true' ? true : undefined), tlsServerName: pick('tlsServerName'),
  };
}

/**
 * Validate TLS inputs: a directory holding ca.crt, tls.crt and tls.key (`--tls-dir`), and/or the
 * three files one by one — all three or none (plaintext). Returns null for plaintext. Files are
 * read later, by {@link loadTls}.
 *
 * @throws ConfigError naming the missing or inconsistent flag (and its environment variable).
 */
export function parseTlsSettings(raw: TlsFlags): TlsSettings | null {
  const dir = raw.tlsDir;
  if (given(dir) && typeof dir !== 'string') throw new ConfigError(named('tlsDir'), dir, 'a directory with ca.crt, tls.crt and tls.key');
  const fromDir = (file: string): string | undefined => (given(dir) ? join(dir as string, file) : undefined);
  const files = {
    tlsCa: given(raw.tlsCa) ? raw.tlsCa : fromDir(SECRET_FILES.ca),
    tlsCert: given(raw.tlsCert) ? raw.tlsCert : fromDir(SECRET_FILES.cert),
    tlsKey: given(raw.tlsKey) ? raw.tlsKey : fromDir(SECRET_FILES.key),
  };
  if (!Object.values(files).some(given)) {
    if (raw.tlsMutual === true) throw new ConfigError(named('tlsMutual'), true, 'to come with --tls-dir, or --tls-ca, --tls-cert and --tls-key');
    if (given(raw.tlsServerName)) throw new ConfigError(named('tlsServerName'), raw.tlsServerName, 'to come with --tls-dir, or --tls-ca, --tls-cert and --tls-key');
    return null;
  }
  for (const [key, v] of Object.entries(files) as [keyof typeof files, unknown][]) {
    if (typeof v !== 'string' || v === '') throw new ConfigError(named(key), v ?? null, 'a PEM file path (TLS needs --tls-ca, --tls-cert and --tls-key together, or --tls-dir)');
  }
  const serverName = raw.tlsServerName;
  if (given(serverName) && (typeof serverName !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(serverName))) {
    throw new ConfigError(named('tlsServerName'), serverName, 'a DNS name');
  }
  return { caFile: files.tlsCa as string, certFile: files.tlsCert as string, keyFile: files.tlsKey as string, mutual: raw.tlsMutual === true, serverName: given(serverName) ? (serverName as string) : null };
}

function readPem(key: keyof TlsFlags, path: string, marker: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (cause) {
    throw new ConfigError(named(key), path, `a readable PEM file (${(cause as Error).message})`, { cause });
  }
  if (!pem.includes(marker)) throw new ConfigError(named(key), path, `a PEM file containing ${marker}`);
  return pem;
}

/**
 * Read the PEM files once; credentials are built from memory afterwards (a rotated Secret takes
 * effect when the process restarts).
 *
 * @throws ConfigError naming the flag of an unreadable file or of a file that is not PEM.
 */
export function loadTls(settings: TlsSettings | null): TlsMaterial | null {
  if (settings === null) return null;
  const ca = readPem('tlsCa', settings.caFile, '-----BEGIN CERTIFICATE-----');
  const cert = readPem('tlsCert', settings.certFile, '-----BEGIN CERTIFICATE-----');
  const key = readPem('tlsKey', settings.keyFile, 'PRIVATE KEY-----');
  return {
    settings,
    pem: { ca, cert, key },
    serverCredentials: () => grpc.ServerCredentials.createSsl(settings.mutual ? ca : null, [{ cert_chain: cert, private_key: key }], settings.mutual),
    channelCredentials: () => grpc.credentials.createSsl(ca, key, cert),
    channelOptions: () => (settings.serverName === null ? {} : { 'grpc.ssl_target_name_override': settings.serverName, 'grpc.default_authority': settings.serverName }),
  };
}

/** How a log line describes the transport: off, on or mutual (never paths or contents). */
export function tlsMode(settings: TlsSettings | null): 'off' | 'on' | 'mutual' {
  return settings === null ? 'off' : settings.mutual ? 'mutual' : 'on';
}

/** Server credentials: TLS material's, else insecure. */
export function serverCredentials(tls: TlsMaterial | null): grpc.ServerCredentials {
  return tls === null ? grpc.ServerCredentials.createInsecure() : tls.serverCredentials();
}

/** Channel credentials and options: TLS material's, else insecure. */
export function channelCredentials(tls: TlsMaterial | null): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  return tls === null ? { credentials: grpc.credentials.createInsecure(), options: {} } : { credentials: tls.channelCredentials(), options: tls.channelOptions() };
}
