/**
 * A worker's first contact with its coordinator: a coordinator that is not up yet is waited for,
 * one whose TLS handshake fails is a configuration error reported within seconds, naming the
 * address, this worker's TLS mode and the connection error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { createTestPki, type TestPki } from '../../core/tls-fixture.js';
import { loadTls, serverCredentials } from '../../core/tls.js';
import { CoordinatorHandshakeError, CoordinatorUnreachableError } from '../errors.js';
import { CoordinatorClient, HANDSHAKE_GIVE_UP_MS } from './coordinator-client.js';
import { freePort } from '../../core/net/free-port.js';

let pki: TestPki;
before(() => {
  pki = createTestPki();
});
after(() => rmSync(pki.dir, { recursive: true, force: true }));

test('a TLS mismatch with the coordinator fails the first contact within seconds, naming the cause', async () => {
  // Any gRPC server with mutual TLS: the handshake fails before a method is looked up.
  const server = new grpc.Server();
  new HealthImplementation({ '': 'SERVING' }).addToServer(server);
  const tls = loadTls({ caFile: pki.ca, certFile: pki.peer.cert, keyFile: pki.peer.key, mutual: true, serverName: null });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', serverCredentials(tls), (e, p) => (e === null ? resolve(p) : reject(e))));
  const address = `127.0.0.1:${port}`;
  const clients = [
    { name: 'plaintext', client: new CoordinatorClient(address, null), mode: 'off' },
    { name: 'certificate of another CA', client: new CoordinatorClient(address, loadTls({ caFile: pki.ca, certFile: pki.foreign.cert, keyFile: pki.foreign.key, mutual: true, serverName: null })), mode: 'mutual' },
  ];
  try {
    const started = Date.now();
    const outcomes = await Promise.all(clients.map(({ client }) => client.describeRun('token', 60_000).then(() => assert.fail('must not connect'), (e: unknown) => e)));
    const elapsedMs = Date.now() - started;
    outcomes.forEach((e, i) => {
      const { name, mode } = clients[i]!;
      assert.ok(e instanceof CoordinatorHandshakeError, `${name}: ${String(e)}`);
      assert.equal(e.address, address);
      assert.equal(e.tls, mode);
      assert.ok(e.failingForMs >= HANDSHAKE_GIVE_UP_MS);
      assert.match(e.message, new RegExp(`coordinator ${address} accepts connections but no gRPC session came up .*TLS ${mode}.*--tls-mutual needs a client certificate`));
    });
    // Not the 60 s connect timeout: a handshake failure is not worth waiting for.
    assert.ok(elapsedMs < HANDSHAKE_GIVE_UP_MS + 5_000, `gave up after ${elapsedMs} ms`);
  } finally {
    for (const { client } of clients) client.close();
    server.forceShutdown();
  }
});

test('a coordinator that is not listening is waited for until the connect timeout, then named', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const client = new CoordinatorClient(address, null);
  try {
    const started = Date.now();
    const error = await client.describeRun('token', 2_500).then(() => assert.fail('nothing listens'), (e: unknown) => e);
    assert.ok(error instanceof CoordinatorUnreachableError, String(error));
    assert.ok(Date.now() - started >= 2_500, 'waited for the coordinator to come up');
    assert.match(error.message, new RegExp(`coordinator ${address} unreachable for 2500 ms \\(last error: .*ECONNREFUSED`));
  } finally {
    client.close();
  }
});
