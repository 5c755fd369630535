/**
 * The lean `PullChunks` server and client against the gRPC wire protocol's edges, over real
 * loopback connections: stock grpc-js clients and servers, raw `node:http2` for what grpc-js
 * would never send, TLS and mutual TLS, deadlines, cancellation mid-stream, oversized and
 * malformed messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { freePort } from '../../core/net/free-port.js';
import { createTestPki } from '../../core/tls-fixture.js';
import { channelCredentials, loadTls, type TlsMaterial } from '../../core/tls.js';
import { ChunkRejectedError, PeerAbortedError, PeerFailedError } from './collective-errors.js';
import { CollectiveNode } from './collective-node.js';
import { MAX_CHUNK_MESSAGE_BYTES, MAX_REQUEST_MESSAGE_BYTES } from './collective-options.js';
import { collectiveWire } from './collective-service.js';
import { frameMessage } from './grpc-framing.js';
import { PullCallError } from './lean-pull-call.js';
import { ERROR_NAME_TRAILER } from './outgoing-lane.js';
import { PeerLink } from './peer-link.js';
import { toPullRequest, type PullSpec } from './pull-request.js';

const PATH = collectiveWire().pullChunks.path;
const spec = (over: Partial<PullSpec> = {}): PullSpec => ({ kind: 'all-reduce', generation: 1, sequence: 0, step: 0, receiverRank: 1, lane: 0, lanes: 1, dtype: 'float32', totalLength: 10, ...over });
const requestBytes = (over: Partial<PullSpec> = {}): Buffer => collectiveWire().pullChunks.requestSerialize(toPullRequest(spec(over)));

interface Outcome {
  readonly code: grpc.status;
  readonly details: string;
  readonly errorName: string | undefined;
  readonly messages: number;
}

/** One PullChunks call by a stock grpc-js client with `bytes` as the raw request; resolves with its status. */
function stockPull(client: grpc.Client, bytes: Buffer, deadlineMs = 10_000, onMessage?: (call: grpc.ClientReadableStream<Buffer>) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    let messages = 0;
    const call = client.makeServerStreamRequest(PATH, (b: Buffer) => b, (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + deadlineMs });
    call.on('data', () => {
      messages++;
      onMessage?.(call);
    });
    call.on('error', () => undefined);
    call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details, errorName: s.metadata.get(ERROR_NAME_TRAILER)[0]?.toString(), messages }));
  });
}

/** A raw HTTP/2 request; resolves with the response headers, trailers and body. */
function rawRequest(address: string, headers: http2.OutgoingHttpHeaders, body: Buffer[]): Promise<{ headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': PATH, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let response: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const data: Buffer[] = [];
    req.on('response', (h) => (response = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => data.push(d));
    req.on('error', () => undefined);
    req.on('close', () => {
      session.close();
      resolve({ headers: response, trailers, body: Buffer.concat(data) });
    });
    for (const part of body) req.write(part);
    req.end();
  });
}

/** `grpc-status` of a raw response, from its trailers or its Trailers-Only headers. */
const statusOf = (r: { headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }): string | undefined => (r.trailers['grpc-status'] ?? r.headers['grpc-status']) as string | undefined;

/** A grpc-js server for PullChunks with `handler`, as a left neighbour whose responses we craft. */
async function stockServer(handler: (call: grpc.ServerWritableStream<unknown, Buffer>) => void): Promise<{ address: string; close(): void }> {
  const server = new grpc.Server({ 'grpc.max_send_message_length': -1 });
  server.addService(collectiveWire().service, { PullChunks: handler });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

async function eventually(check: () => boolean, what: string, ms = 3_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a stock grpc-js client gets grpc-js answers: stale pull, oversized and undecodable requests', async () => {
  const node = await CollectiveNode.start({ membership: { rank: 0, worldSize: 2, peers: ['127.0.0.1:1', '127.0.0.1:1'], generation: 1 } });
  const client = new grpc.Client(node.address, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  try {
    const [stale, oversized, malformed] = await Promise.all([
      stockPull(client, requestBytes({ generation: 0 })),
      stockPull(client, Buffer.alloc(MAX_REQUEST_MESSAGE_BYTES + 1, 0x0a)),
      stockPull(client, Buffer.from([0x7f, 0x01])),
    ]);
    assert.equal(stale.code, grpc.status.FAILED_PRECONDITION);
    assert.match(stale.details, /rejected pull request from rank 1 .*generation is 0, expected 1/);
    assert.equal(stale.errorName, 'StaleGenerationError');
    assert.equal(oversized.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(oversized.details, `Received message larger than max (${MAX_REQUEST_MESSAGE_BYTES + 1} vs ${MAX_REQUEST_MESSAGE_BYTES})`);
    assert.equal(malformed.code, grpc.status.INVALID_ARGUMENT);
    assert.match(malformed.details, /encoding is "2 bytes that do not decode \(.+\)", expected "a PullRequest message"/);
  } finally {
    client.close();
    await node.close({ graceMs: 100 });
  }
});

test('requests grpc-js would never send are answered as PROTOCOL-HTTP2.md says', async () => {
  const node = await CollectiveNode.start({ membership: { rank: 0, worldSize: 2, peers: ['127.0.0.1:1', '127.0.0.1:1'], generation: 1 } });
  try {
    const request = frameMessage(requestBytes({ generation: 0 }));
    const compressed = Buffer.from(request);
    compressed[0] = 1;
    const [get, text, unknown, none, two, zipped, gzip, badTimeout] = await Promise.all([
      rawRequest(node.address, { ':method': 'GET' }, []),
      rawRequest(node.address, { 'content-type': 'text/plain' }, [request]),
      rawRequest(node.address, { ':path': '/encourage.v1.Collective/PushChunks' }, [request]),
      rawRequest(node.address, {}, []),
      rawRequest(node.address, {}, [request, request]),
      rawRequest(node.address, {}, [compressed]),
      rawRequest(node.address, { 'grpc-encoding': 'gzip' }, [request]),
      rawRequest(node.address, { 'grpc-timeout': '5 seconds' }, [request]),
    ]);
    assert.equal(get.headers[':status'], 405);
    assert.equal(text.headers[':status'], 415, 'a non-gRPC client must not read a gRPC error as success');
    assert.equal(statusOf(unknown), String(grpc.status.UNIMPLEMENTED));
    assert.match(String(unknown.headers['grpc-message']), /does not implement the method \/encourage\.v1\.Collective\/PushChunks/);
    assert.equal(statusOf(none), String(grpc.status.UNIMPLEMENTED));
    assert.equal(statusOf(two), String(grpc.status.UNIMPLEMENTED));
    assert.match(decodeURIComponent(String(two.trailers['grpc-message'] ?? two.headers['grpc-message'])), /second request message/);
    assert.equal(statusOf(zipped), String(grpc.status.INTERNAL));
    assert.equal(statusOf(gzip), String(grpc.status.UNIMPLEMENTED));
    assert.equal(gzip.headers['grpc-accept-encoding'], 'identity');
    assert.equal(statusOf(badTimeout), String(grpc.status.INTERNAL));
    assert.match(decodeURIComponent(String(badTimeout.headers['grpc-message'])), /Invalid grpc-timeout value "5 seconds"/);
  } finally {
    await node.close({ graceMs: 100 });
  }
});

test('TLS and mutual TLS: only clients of the run CA get a call through, and only with a certificate when mutual', async () => {
  const pki = createTestPki();
  const material = (files: { ca: string; cert: string; key: string }, mutual: boolean): TlsMaterial => loadTls({ caFile: files.ca, certFile: files.cert, keyFile: files.key, mutual, serverName: null })!;
  const run = material(pki.peer, true);
  for (const mutual of [true, false]) {
    const node = await CollectiveNode.start({ tls: material(pki.peer, mutual), membership: { rank: 0, worldSize: 2, peers: ['127.0.0.1:1', '127.0.0.1:1'], generation: 1 } });
    const { credentials, options } = channelCredentials(run);
    const clients = {
      member: new grpc.Client(node.address, credentials, options),
      noCertificate: new grpc.Client(node.address, grpc.credentials.createSsl(run.pem.ca), {}),
      foreignCa: new grpc.Client(node.address, channelCredentials(material(pki.foreign, false)).credentials, {}),
      plaintext: new grpc.Client(node.address, grpc.credentials.createInsecure(), {}),
    };
    try {
      const stale = requestBytes({ generation: 0 });
      const [member, noCertificate, foreignCa, plaintext] = await Promise.all([clients.member, clients.noCertificate, clients.foreignCa, clients.plaintext].map((c) => stockPull(c, stale, 5_000))) as [Outcome, Outcome, Outcome, Outcome];
      assert.equal(member.code, grpc.status.FAILED_PRECONDITION, `mutual=${mutual}: a member's call goes through: ${member.details}`);
      if (mutual) assert.equal(noCertificate.code, grpc.status.UNAVAILABLE, `no client certificate: ${noCertificate.details}`);
      else assert.equal(noCertificate.code, grpc.status.FAILED_PRECONDITION, 'plain TLS asks for no client certificate');
      assert.equal(foreignCa.code, grpc.status.UNAVAILABLE, `another CA: ${foreignCa.details}`);
      assert.equal(plaintext.code, grpc.status.UNAVAILABLE, `plaintext to TLS: ${plaintext.details}`);
    } finally {
      for (const c of Object.values(clients)) c.close();
      await node.close({ graceMs: 100 });
    }
  }
});

test('deadlines: grpc-timeout ends a parked pull on the server; a client deadline cancels it; the lean client gives up at its own', async () => {
  const node = await CollectiveNode.start({ defaults: { timeoutMs: 20_000 }, membership: { rank: 0, worldSize: 2, peers: ['127.0.0.1:1', '127.0.0.1:1'], generation: 1 } });
  const client = new grpc.Client(node.address, grpc.credentials.createInsecure(), {});
  const link = new PeerLink(0, node.address, 1);
  const nobody = new PeerLink(0, `127.0.0.1:${await freePort()}`, 1);
  try {
    // A pull for an operation this rank has not started waits (parked) until its deadline.
    let started = Date.now();
    const expired = await stockPull(client, requestBytes({ sequence: 5 }), 300);
    assert.equal(expired.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 3_000);
    await eventually(() => node.parkedPulls === 0, 'the cancelled pull is no longer parked');

    // A client that sends grpc-timeout but never resets the stream is ended by the server.
    started = Date.now();
    const raw = await rawRequest(node.address, { 'grpc-timeout': '200m' }, [frameMessage(requestBytes({ sequence: 6 }))]);
    assert.equal(statusOf(raw), String(grpc.status.DEADLINE_EXCEEDED));
    assert.ok(Date.now() - started < 3_000, `server deadline after ${Date.now() - started} ms`);
    await eventually(() => node.parkedPulls === 0, 'the expired pull is no longer parked');

    // The lean client: against a parked operation, and against a port where nobody listens yet.
    for (const [target, waiting] of [[link, /call open/], [nobody, /still connecting to 127\.0\.0\.1:\d+/]] as const) {
      started = Date.now();
      const error = await new Promise<PullCallError>((resolve) => target.openPull(spec({ sequence: 7 }), new Date(Date.now() + 300)).on('error', resolve));
      assert.ok(error instanceof PullCallError);
      assert.equal(error.code, grpc.status.DEADLINE_EXCEEDED);
      assert.match(error.details, waiting);
      assert.ok(Date.now() - started < 3_000);
    }
    await eventually(() => node.parkedPulls === 0, 'the lean client reset its stream at the deadline');
  } finally {
    client.close();
    link.close();
    nobody.close();
    await node.close({ graceMs: 100 });
  }
});

test('cancellation mid-stream: a receiver that cancels fails the sender at once; the lean client cancels a grpc-js stream', async () => {
  // Rank 1 is a grpc-js server that never sends and a stock client that reads one chunk, then cancels.
  const silent = await stockServer(() => undefined);
  const node = await CollectiveNode.start({ defaults: { chunkKb: 1, timeoutMs: 20_000 } });
  const client = new grpc.Client(node.address, grpc.credentials.createInsecure(), {});
  try {
    node.reconfigure({ rank: 0, worldSize: 2, peers: [node.address, silent.address], generation: 1 });
    const started = Date.now();
    const result = node.allReduce(new Float32Array(4096)).then(() => assert.fail('must fail'), (e: unknown) => e);
    const pulled = await stockPull(client, requestBytes({ totalLength: 4096 }), 10_000, (call) => call.cancel());
    assert.equal(pulled.code, grpc.status.CANCELLED);
    assert.ok(pulled.messages >= 1, 'cancelled after a chunk arrived');
    const error = await result;
    assert.ok(error instanceof PeerAbortedError, String(error));
    assert.equal(error.peerRank, 1);
    assert.ok(Date.now() - started < 5_000, 'not at the 20 s deadline');
  } finally {
    client.close();
    await node.close({ graceMs: 100 });
    silent.close();
  }

  // The other way round: the lean client cancels while a grpc-js server is streaming.
  let cancelled!: () => void;
  const serverSawCancel = new Promise<void>((resolve) => (cancelled = resolve));
  const streaming = await stockServer((call) => {
    call.on('cancelled', cancelled);
    call.write(Buffer.from([0x08, 0x01]));
  });
  const link = new PeerLink(1, streaming.address, 1);
  try {
    const call = link.openPull(spec(), new Date(Date.now() + 10_000));
    const error = await new Promise<PullCallError>((resolve) => {
      call.on('data', () => call.cancel());
      call.on('error', resolve);
    });
    assert.equal(error.code, grpc.status.CANCELLED);
    await serverSawCancel;
  } finally {
    link.close();
    streaming.close();
  }
});

test('the lean client refuses an oversized response before buffering it, and an undecodable chunk by name', async () => {
  for (const [respond, check] of [
    [Buffer.alloc(MAX_CHUNK_MESSAGE_BYTES + 1), (e: unknown) => e instanceof PeerFailedError && e.code === grpc.status.RESOURCE_EXHAUSTED && /Received message larger than max \(\d+ vs \d+\)/.test(e.message)],
    [Buffer.from([0x7f, 0x01]), (e: unknown) => e instanceof ChunkRejectedError && e.field === 'encoding' && /do not decode/.test(e.message)],
  ] as const) {
    const left = await stockServer((call) => {
      call.write(respond);
      call.end();
    });
    const node = await CollectiveNode.start({ defaults: { timeoutMs: 10_000 } });
    try {
      node.reconfigure({ rank: 1, worldSize: 2, peers: [left.address, node.address], generation: 1 });
      const error = await node.allReduce(new Float32Array(8)).then(() => assert.fail('must fail'), (e: unknown) => e);
      assert.ok(check(error), String(error));
    } finally {
      await node.close({ graceMs: 100 });
      left.close();
    }
  }
});
