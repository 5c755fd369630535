/**
 * TLS and mutual TLS of the project's gRPC connections, with a real CA and certificates made by
 * the openssl CLI (tls-fixture.ts) and real gRPC servers on loopback: what a Kubernetes Secret
 * would mount, what each side accepts and refuses, and how a bad flag is named.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { parseCoordinatorConfig } from '../coordinator/config.js';
import { probeHealth } from '../coordinator/health-probe.js';
import { parseWorkerConfig } from '../worker/config.js';
import { ConfigError } from './errors.js';
import { createTestPki, RUN_SERVER_NAME, type CertFiles, type TestPki } from './tls-fixture.js';
import { channelCredentials, loadTls, parseTlsSettings, serverCredentials, tlsFlagsFrom, type TlsMaterial } from './tls.js';

let pki: TestPki;
before(() => {
  pki = createTestPki();
});
after(() => rmSync(pki.dir, { recursive: true, force: true }));

const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
const pem = (path: string): Buffer => readFileSync(path);

/** TLS material of `files`, optionally mutual and with a server-name override. */
function material(files: CertFiles, opts: { mutual?: boolean; serverName?: string } = {}): TlsMaterial {
  return loadTls({ caFile: files.ca, certFile: files.cert, keyFile: files.key, mutual: opts.mutual ?? false, serverName: opts.serverName ?? null })!;
}

/** A grpc.health.v1 server on 127.0.0.1 with `tls` (null: plaintext). */
async function serve(tls: TlsMaterial | null): Promise<{ address: string; close(): void }> {
  const server = new grpc.Server();
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', serverCredentials(tls), (e, p) => (e === null ? resolve(p) : reject(e))));
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/**
 * One Health/Check without wait-for-ready, so a failed handshake surfaces as UNAVAILABLE with the
 * connection error in its details (wait-for-ready would only report the deadline).
 */
async function check(address: string, credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): Promise<{ ok: true } | { ok: false; code: grpc.status; details: string }> {
  const client = new HealthClient(address, credentials, options);
  try {
    return await new Promise((resolve) => {
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (req: { service: string }) => healthService['Check']!.requestSerialize(req),
        (buf: Buffer) => buf,
        { service: '' },
        new grpc.Metadata(),
        { deadline: Date.now() + 5_000 },
        (err) => resolve(err === null ? { ok: true } : { ok: false, code: err.code, details: err.details }),
      );
    });
  } finally {
    client.close();
  }
}

function configError(key: RegExp): (e: unknown) => boolean {
  return (e) => e instanceof ConfigError && key.test(e.key) && key.test(e.message);
}

test('TLS inputs: none is plaintext; an incomplete or inconsistent set names the flag and its environment variable', () => {
  assert.equal(parseTlsSettings({}), null);
  assert.throws(() => parseTlsSettings({ tlsCa: pki.ca, tlsCert: pki.peer.cert }), configError(/--tls-key \(ENCOURAGE_TLS_KEY\)/));
  assert.throws(() => parseTlsSettings({ tlsCert: pki.peer.cert, tlsKey: pki.peer.key }), configError(/--tls-ca \(ENCOURAGE_TLS_CA\)/));
  assert.throws(() => parseTlsSettings({ tlsMutual: true }), configError(/--tls-mutual/));
  // A server-name override without TLS would be a silently ignored security setting.
  assert.throws(() => parseTlsSettings({ tlsServerName: RUN_SERVER_NAME }), configError(/--tls-server-name/));
  assert.throws(() => parseTlsSettings({ tlsCa: pki.ca, tlsCert: pki.peer.cert, tlsKey: pki.peer.key, tlsServerName: 'not a name' }), configError(/--tls-server-name/));
  // --tls-dir: the file names of a mounted kubernetes.io/tls Secret; single-file flags override.
  assert.deepEqual(parseTlsSettings({ tlsDir: '/etc/encourage/tls', tlsMutual: true }), {
    caFile: '/etc/encourage/tls/ca.crt', certFile: '/etc/encourage/tls/tls.crt', keyFile: '/etc/encourage/tls/tls.key', mutual: true, serverName: null,
  });
  assert.equal(parseTlsSettings({ tlsDir: '/etc/encourage/tls', tlsCa: '/other/ca.pem' })?.caFile, '/other/ca.pem');
  // Environment variables when a flag is absent; flags win; ENCOURAGE_TLS_MUTUAL must be a boolean.
  const env = { ENCOURAGE_TLS_DIR: '/mnt/tls', ENCOURAGE_TLS_MUTUAL: 'true', ENCOURAGE_TLS_SERVER_NAME: RUN_SERVER_NAME };
  assert.deepEqual(parseTlsSettings(tlsFlagsFrom({}, env)), { caFile: '/mnt/tls/ca.crt', certFile: '/mnt/tls/tls.crt', keyFile: '/mnt/tls/tls.key', mutual: true, serverName: RUN_SERVER_NAME });
  assert.equal(parseTlsSettings(tlsFlagsFrom({ tlsKey: '/flag/key.pem' }, env))?.keyFile, '/flag/key.pem');
  assert.throws(() => tlsFlagsFrom({}, { ENCOURAGE_TLS_MUTUAL: 'yes' }), configError(/ENCOURAGE_TLS_MUTUAL/));
  // Both services read the same inputs.
  assert.deepEqual(parseCoordinatorConfig({}, env).tls, parseWorkerConfig({ coordinator: 'c:7070' }, env).tls);
  assert.equal(parseCoordinatorConfig({}, {}).tls, null);
});

test('TLS files: an unreadable file or one that is not PEM is an error naming the flag and the path', () => {
  const settings = { caFile: pki.ca, certFile: pki.peer.cert, keyFile: pki.peer.key, mutual: true, serverName: null };
  const missing = join(pki.dir, 'no-such-ca.crt');
  assert.throws(() => loadTls({ ...settings, caFile: missing }), (e: unknown) => e instanceof ConfigError && e.key === '--tls-ca (ENCOURAGE_TLS_CA)' && e.value === missing && /readable PEM file \(ENOENT/.test(e.message));
  // A key where the certificate belongs.
  assert.throws(() => loadTls({ ...settings, certFile: pki.peer.key }), (e: unknown) => e instanceof ConfigError && e.key === '--tls-cert (ENCOURAGE_TLS_CERT)' && e.value === pki.peer.key && /BEGIN CERTIFICATE/.test(e.message));
  const notPem = join(pki.dir, 'not-pem.key');
  writeFileSync(notPem, 'just some text\n');
  assert.throws(() => loadTls({ ...settings, keyFile: notPem }), (e: unknown) => e instanceof ConfigError && e.key === '--tls-key (ENCOURAGE_TLS_KEY)' && e.value === notPem && /PRIVATE KEY/.test(e.message));
  assert.throws(() => loadTls({ ...settings, caFile: pki.dir }), configError(/--tls-ca/), 'a directory is not a readable file');
  assert.equal(loadTls(settings)?.settings, settings);
  assert.equal(loadTls(null), null);
});

test('TLS: a TLS client reaches a TLS server; a plaintext client cannot', async () => {
  const server = await serve(material(pki.peer));
  try {
    const { credentials, options } = channelCredentials(material(pki.peer));
    assert.deepEqual(await check(server.address, credentials, options), { ok: true });
    // Without --tls-mutual the server takes any client: the join token is what admits workers.
    assert.deepEqual(await check(server.address, grpc.credentials.createSsl(pem(pki.ca))), { ok: true });
    const plain = await check(server.address, grpc.credentials.createInsecure());
    assert.equal(plain.ok, false);
    assert.equal((plain as { code: grpc.status }).code, grpc.status.UNAVAILABLE);
  } finally {
    server.close();
  }
});

test('mutual TLS: a client certificate of the run CA is accepted; no certificate, or one of another CA, is refused', async () => {
  const server = await serve(material(pki.peer, { mutual: true }));
  try {
    for (const files of [pki.peer, pki.client]) {
      const { credentials, options } = channelCredentials(material(files));
      assert.deepEqual(await check(server.address, credentials, options), { ok: true }, `client ${files.cert}`);
    }
    // What `encourage health --tls-dir` does in a TLS pod.
    assert.equal(await probeHealth(server.address, { timeoutMs: 5_000, tls: material(pki.client) }), 'SERVING');

    const noCert = await check(server.address, grpc.credentials.createSsl(pem(pki.ca)));
    assert.deepEqual([noCert.ok, (noCert as { code: grpc.status }).code], [false, grpc.status.UNAVAILABLE]);
    assert.match((noCert as { details: string }).details, /certificate required/, 'TLS 1.3 alert 116: the server demands a certificate');

    // A certificate of another CA, presented by a client that trusts the run CA.
    const foreign = await check(server.address, grpc.credentials.createSsl(pem(pki.ca), pem(pki.foreign.key), pem(pki.foreign.cert)));
    assert.deepEqual([foreign.ok, (foreign as { code: grpc.status }).code], [false, grpc.status.UNAVAILABLE]);

    // And the other direction: a client of the other CA does not trust the run's server.
    const { credentials, options } = channelCredentials(material(pki.foreign));
    const distrust = await check(server.address, credentials, options);
    assert.deepEqual([distrust.ok, (distrust as { code: grpc.status }).code], [false, grpc.status.UNAVAILABLE]);
    assert.match((distrust as { details: string }).details, /self[- ]signed certificate|unable to verify|unable to get local issuer/);
  } finally {
    server.close();
  }
});

test('--tls-server-name: dialling 127.0.0.1 works with a certificate that names only encourage.internal', async () => {
  const server = await serve(material(pki.namedOnly, { mutual: true }));
  try {
    const plainName = channelCredentials(material(pki.peer));
    const refused = await check(server.address, plainName.credentials, plainName.options);
    assert.equal(refused.ok, false);
    assert.match((refused as { details: string }).details, /altnames|ERR_TLS_CERT_ALTNAME_INVALID/, 'the dialled IP is not in the certificate');
    const override = channelCredentials(material(pki.peer, { serverName: RUN_SERVER_NAME }));
    assert.deepEqual(override.options, { 'grpc.ssl_target_name_override': RUN_SERVER_NAME, 'grpc.default_authority': RUN_SERVER_NAME });
    assert.deepEqual(await check(server.address, override.credentials, override.options), { ok: true });
    const wrong = channelCredentials(material(pki.peer, { serverName: 'other.internal' }));
    assert.match(((await check(server.address, wrong.credentials, wrong.options)) as { details: string }).details, /other\.internal/);
  } finally {
    server.close();
  }
});

test('without the openssl binary the certificate fixture fails with a message saying what to install', () => {
  const fixture = fileURLToPath(new URL('./tls-fixture.js', import.meta.url));
  const script = `import(${JSON.stringify(fixture)}).then((m) => m.createTestPki()).then(() => process.exit(0), (e) => { process.stderr.write(e.name + ': ' + e.message); process.exit(3); });`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /^OpensslMissingError: openssl not found: .*apt-get install openssl/);
});
