/**
 * Test support: a throwaway PKI made with the `openssl` CLI in a temporary directory — a run CA,
 * a peer certificate (server and client use, SAN `DNS:encourage.internal, IP:127.0.0.1`, the
 * shape docs/security.md recommends), a client-only certificate, a certificate naming only
 * `encourage.internal` (for the server-name override), and a certificate of a *different* CA.
 * Used by the TLS tests (tls.test.ts, cli/security.test.ts); not part of the shipped services.
 *
 * EC P-256 keys: generating them takes milliseconds, RSA-2048 takes up to a second each on a
 * loaded CI machine.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SECRET_FILES } from './tls.js';

/** Name every server certificate of a run carries (docs/security.md). */
export const RUN_SERVER_NAME = 'encourage.internal';

/** Files of one certificate: PEM certificate, PEM private key, and the CA that signed it. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export interface TestPki {
  readonly dir: string;
  /** The run's CA certificate. */
  readonly ca: string;
  /** Server and client use; SAN DNS:encourage.internal, IP:127.0.0.1. */
  readonly peer: CertFiles;
  /** Client use only; CN encourage-client. */
  readonly client: CertFiles;
  /** Server and client use; SAN DNS:encourage.internal only (dialling 127.0.0.1 needs the override). */
  readonly namedOnly: CertFiles;
  /** A peer certificate (same SANs as `peer`) signed by another CA; `ca` is that other CA. */
  readonly foreign: CertFiles;
}

/** The `openssl` binary is missing: the TLS tests cannot make their certificates. */
export class OpensslMissingError extends Error {
  override readonly name = 'OpensslMissingError';
  constructor(readonly binary: string) {
    super(`${binary} not found: the TLS tests create their CA and certificates with the openssl CLI — install it (apt-get install openssl; .ci/run does)`);
  }
}

function openssl(args: readonly string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error !== undefined) {
    if ((r.error as NodeJS.ErrnoException).code === 'ENOENT') throw new OpensslMissingError('openssl');
    throw r.error;
  }
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} exited with ${r.status}: ${r.stderr}`);
}

function makeCa(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { cert, key };
}

function issue(dir: string, name: string, ca: { cert: string; key: string }, extensions: string): CertFiles {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions}\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], dir);
  return { cert, key, ca: ca.cert };
}

const PEER_EXTENSIONS = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  // One certificate per process serves as its server and (mutual TLS) client certificate (tls.ts).
  'extendedKeyUsage=serverAuth,clientAuth',
].join('\n');

/**
 * Create the test PKI in a new temporary directory.
 *
 * @throws OpensslMissingError when the openssl binary is not installed.
 */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'encourage-pki-'));
  const ca = makeCa(dir, 'run-ca');
  const other = makeCa(dir, 'other-ca');
  return {
    dir,
    ca: ca.cert,
    peer: issue(dir, 'peer', ca, `${PEER_EXTENSIONS}\nsubjectAltName=DNS:${RUN_SERVER_NAME},IP:127.0.0.1`),
    client: issue(dir, 'encourage-client', ca, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'),
    namedOnly: issue(dir, 'named-only', ca, `${PEER_EXTENSIONS}\nsubjectAltName=DNS:${RUN_SERVER_NAME}`),
    foreign: issue(dir, 'foreign', other, `${PEER_EXTENSIONS}\nsubjectAltName=DNS:${RUN_SERVER_NAME},IP:127.0.0.1`),
  };
}

/**
 * Lay `files` out as a kubernetes.io/tls Secret (plus ca.crt) mounts them — `<dir>/<name>/`
 * with ca.crt, tls.crt and tls.key — for `--tls-dir` / ENCOURAGE_TLS_DIR; returns the directory.
 */
export function mountAsSecret(pki: TestPki, files: CertFiles, name: string): string {
  const dir = join(pki.dir, name);
  mkdirSync(dir);
  copyFileSync(files.ca, join(dir, SECRET_FILES.ca));
  copyFileSync(files.cert, join(dir, SECRET_FILES.cert));
  copyFileSync(files.key, join(dir, SECRET_FILES.key));
  return dir;
}
