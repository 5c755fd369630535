/**
 * Transport security of every gRPC connection (coordinator service and the collective data
 * plane): plaintext by default, TLS when a certificate and key are given, mutual TLS when the
 * servers also require client certificates signed by the CA. Certificates are PEM files, as a
 * Kubernetes Secret of type kubernetes.io/tls mounts them (tls.crt, tls.key, ca.crt).
 *
 * One certificate per process serves both as its server certificate and, with mutual TLS, as its
 * client certificate. Peers are dialled by IP address, which pod certificates rarely name, so
 * `serverName` sets the name every server certificate must carry (grpc's
 * `grpc.ssl_target_name_override`) — e.g. one SAN `encourage.internal` for a whole run.
 * See docs/security.md.
 */
import { readFileSync } from 'node:fs';
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
  serverCredentials(): grpc.ServerCredentials;
  channelCredentials(): grpc.ChannelCredentials;
  /** Channel options that go with channelCredentials (the server-name override). */
  channelOptions(): grpc.ChannelOptions;
}

/**
 * Validate TLS flags: all of ca/cert/key, or none (plaintext). Returns null for plaintext.
 *
 * @throws ConfigError naming the missing or inconsistent flag.
 */
export function parseTlsSettings(raw: { tlsCa?: unknown; tlsCert?: unknown; tlsKey?: unknown; tlsMutual?: unknown; tlsServerName?: unknown }): TlsSettings | null {
  const files = { tlsCa: raw.tlsCa, tlsCert: raw.tlsCert, tlsKey: raw.tlsKey };
  const given = Object.entries(files).filter(([, v]) => v !== undefined && v !== null && v !== '');
  if (given.length === 0) {
    if (raw.tlsMutual === true) throw new ConfigError('tlsMutual', true, 'to come with --tls-ca, --tls-cert and --tls-key');
    return null;
  }
  for (const [key, v] of Object.entries(files)) {
    if (typeof v !== 'string' || v === '') throw new ConfigError(key, v ?? null, 'a PEM file path (TLS needs --tls-ca, --tls-cert and --tls-key together)');
  }
  const serverName = raw.tlsServerName;
  if (serverName !== undefined && serverName !== null && (typeof serverName !== 'string' || !/^[A-Za-z0-9.-]{1,253}$/.test(serverName))) {
    throw new ConfigError('tlsServerName', serverName, 'a DNS name');
  }
  return { caFile: files.tlsCa as string, certFile: files.tlsCert as string, keyFile: files.tlsKey as string, mutual: raw.tlsMutual === true, serverName: (serverName as string | undefined) ?? null };
}

function readPem(key: string, path: string, marker: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (cause) {
    throw new ConfigError(key, path, `a readable PEM file (${(cause as Error).message})`);
  }
  if (!pem.includes(marker)) throw new ConfigError(key, path, `a PEM file containing ${marker}`);
  return pem;
}

/** Read the PEM files once; credentials are built from memory afterwards. */
export function loadTls(settings: TlsSettings | null): TlsMaterial | null {
  if (settings === null) return null;
  const ca = readPem('tlsCa', settings.caFile, '-----BEGIN CERTIFICATE-----');
  const cert = readPem('tlsCert', settings.certFile, '-----BEGIN CERTIFICATE-----');
  const key = readPem('tlsKey', settings.keyFile, 'PRIVATE KEY-----');
  return {
    settings,
    serverCredentials: () => grpc.ServerCredentials.createSsl(settings.mutual ? ca : null, [{ cert_chain: cert, private_key: key }], settings.mutual),
    channelCredentials: () => grpc.credentials.createSsl(ca, key, cert),
    channelOptions: () => (settings.serverName === null ? {} : { 'grpc.ssl_target_name_override': settings.serverName, 'grpc.default_authority': settings.serverName }),
  };
}

/** Server credentials: TLS material's, else insecure. */
export function serverCredentials(tls: TlsMaterial | null): grpc.ServerCredentials {
  return tls === null ? grpc.ServerCredentials.createInsecure() : tls.serverCredentials();
}

/** Channel credentials and options: TLS material's, else insecure. */
export function channelCredentials(tls: TlsMaterial | null): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } {
  return tls === null ? { credentials: grpc.credentials.createInsecure(), options: {} } : { credentials: tls.channelCredentials(), options: tls.channelOptions() };
}
