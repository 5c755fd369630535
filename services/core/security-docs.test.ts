/**
 * docs/security.md stays true: its certificate recipe, run as written, yields a PKI that a mutual-TLS
 * server and client accept (with the documented server name), and every test it cites as evidence
 * for a control exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { probeHealth } from '../coordinator/health-probe.js';
import { RUN_SERVER_NAME } from './tls-fixture.js';
import { loadTls, parseTlsSettings, serverCredentials } from './tls.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs/security.md'), 'utf8');

/** The first ```sh block after `heading`. */
function shellBlock(heading: string): string {
  const at = doc.indexOf(heading);
  assert.ok(at >= 0, `docs/security.md has no "${heading}"`);
  const match = /```sh\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(match !== null, `no sh block after "${heading}"`);
  return match[1]!;
}

test('the certificate recipe of docs/security.md makes certificates that mutual TLS accepts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'security-doc-'));
  const server = new grpc.Server();
  try {
    const run = spawnSync('bash', ['-euo', 'pipefail', '-c', shellBlock('### Certificates')], { cwd: dir, encoding: 'utf8' });
    if (run.error !== undefined && (run.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('bash not found');
    assert.equal(run.status, 0, `the recipe failed (is openssl installed? .ci/run installs it):\n${run.stderr}`);
    // The directory now looks like the mounted Secret: --tls-dir takes it as is.
    const tls = loadTls(parseTlsSettings({ tlsDir: dir, tlsMutual: true, tlsServerName: RUN_SERVER_NAME }));
    new HealthImplementation({ '': 'SERVING' }).addToServer(server);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', serverCredentials(tls), (e, p) => (e === null ? resolve(p) : reject(e))));
    assert.equal(await probeHealth(`127.0.0.1:${port}`, { timeoutMs: 5_000, tls }), 'SERVING');
  } finally {
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every test docs/security.md cites exists', () => {
  const cited = [...new Set([...doc.matchAll(/`((?:cli|core|coordinator|worker)\/[\w/.-]+\.test\.ts)`/g)].map((m) => m[1]!))];
  assert.ok(cited.length >= 8, `cites ${cited.length} tests`);
  for (const path of cited) assert.ok(existsSync(join(ROOT, 'services', path)), `docs/security.md cites services/${path}, which does not exist`);
});
