import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, ServerCredentials, status as Status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { ConfigError } from '../../core/errors.js';
import type { PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import { allocateChunk, sealChunk, type DecodedChunk } from './chunk-codec.js';
import {
  ChunkRejectedError,
  CollectiveStateError,
  CollectiveTimeoutError,
  GenerationChangedError,
  PeerFailedError,
  StaleGenerationError,
} from './collective-errors.js';
import { CollectiveNode } from './collective-node.js';
import { collectiveWire } from './collective-service.js';
import { ERROR_NAME_TRAILER } from './outgoing-lane.js';
import { PeerLink } from './peer-link.js';
import { fromPullRequest, type PullSpec } from './pull-request.js';
import { startRing } from './ring-fixture.js';

/** A left neighbour that answers every pull with hand-made chunk messages. */
async function fakeLeftNeighbour(craft: (request: PullSpec) => Buffer[]): Promise<{ address: string; close(): void }> {
  const server = new Server();
  server.addService(collectiveWire().service, {
    PullChunks: (call: ServerWritableStream<PullRequest__Output, Buffer>) => {
      for (const message of craft(fromPullRequest(call.request))) call.write(message);
      call.end();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/** The first reduce-scatter chunk rank 1 of a 2-ring expects (segment 0, chunk 0), with overrides. */
function firstChunk(request: PullSpec, over: { generation?: number; length?: number; dataBytes?: number; corrupt?: boolean } = {}): Buffer {
  const length = over.length ?? 256;
  const out = allocateChunk(
    {
      generation: over.generation ?? request.generation,
      sequence: request.sequence,
      step: request.step,
      kind: 1,
      phase: 1,
      ringStep: 0,
      chunkIndex: 0,
      senderRank: 0,
      dtype: 1,
      offset: 0,
      length,
      totalLength: request.totalLength,
    },
    over.dataBytes ?? length * 4,
    true,
  );
  out.payload.fill(1);
  sealChunk(out);
  if (over.corrupt === true) out.payload[0] = 2;
  return out.message;
}

test('a chunk with a stale generation, the wrong size or a bad checksum is rejected with a named error', async () => {
  const cases: Array<{ over: Parameters<typeof firstChunk>[1]; check: (error: unknown) => void }> = [
    { over: { generation: 4 }, check: (e) => assert.ok(e instanceof StaleGenerationError && e.expected === 5 && e.actual === 4, String(e)) },
    { over: { length: 3 }, check: (e) => assert.ok(e instanceof ChunkRejectedError && e.field === 'length' && e.expected === 256 && e.actual === 3, String(e)) },
    { over: { dataBytes: 1000 }, check: (e) => assert.ok(e instanceof ChunkRejectedError && e.field === 'size' && e.expected === 1024 && e.actual === 1000, String(e)) },
    { over: { corrupt: true }, check: (e) => assert.ok(e instanceof ChunkRejectedError && e.field === 'checksum', String(e)) },
  ];
  for (const { over, check } of cases) {
    const fake = await fakeLeftNeighbour((request) => [firstChunk(request, over)]);
    const node = await CollectiveNode.start({ defaults: { chunkKb: 1, timeoutMs: 5_000, checksum: true } });
    try {
      node.reconfigure({ rank: 1, worldSize: 2, peers: [fake.address, node.address], generation: 5 });
      const error = await node.allReduce(new Float32Array(1000)).then(
        () => assert.fail('the all-reduce must reject'),
        (e: unknown) => e,
      );
      check(error);
      assert.match((error as Error).message, /rejected chunk from rank 0 for all-reduce step 0 \(sequence 0, generation 5\)/);
    } finally {
      await node.close({ graceMs: 100 });
      fake.close();
    }
  }
});

test('a pull request of an older generation is refused with FAILED_PRECONDITION', async () => {
  const ring = await startRing(2, { timeoutMs: 5_000 });
  const link = new PeerLink(0, ring.addresses[0]!, 1);
  try {
    ring.reconfigure(2);
    const call = link.openPull({ kind: 'all-reduce', generation: 1, sequence: 0, step: 0, receiverRank: 1, lane: 0, lanes: 1, dtype: 'float32', totalLength: 10 }, new Date(Date.now() + 5_000));
    const error = await new Promise<ServiceError>((resolve) => {
      call.on('data', (_: DecodedChunk) => assert.fail('no data expected'));
      call.on('error', resolve);
    });
    assert.equal(error.code, Status.FAILED_PRECONDITION);
    assert.deepEqual(error.metadata.get(ERROR_NAME_TRAILER), ['StaleGenerationError']);
    assert.match(error.details, /generation is 1, expected 2/);
  } finally {
    link.close();
    await ring.close();
  }
});

test('a peer that stops answering fails the all-reduce within the deadline, naming that peer', async () => {
  const timeoutMs = 400;
  const ring = await startRing(3, { chunkKb: 1, timeoutMs });
  try {
    const started = Date.now();
    // Rank 2 never starts the operation.
    const results = await Promise.allSettled([ring.nodes[0]!.allReduce(new Float32Array(5000)), ring.nodes[1]!.allReduce(new Float32Array(5000))]);
    const elapsedMs = Date.now() - started;
    const [rank0, rank1] = results.map((r) => (r.status === 'rejected' ? (r.reason as Error) : assert.fail('must reject')));
    // Rank 0 pulls from rank 2: its own deadline fires.
    assert.ok(rank0 instanceof CollectiveTimeoutError, String(rank0));
    assert.equal(rank0.peerRank, 2);
    assert.match(rank0.message, /all-reduce step 0 \(sequence 0, generation 1\) reduce-scatter ring-step \d: no chunk from rank 2 \(127\.0\.0\.1:\d+\) within 400 ms/);
    // Rank 1 is told by rank 0, with rank 0's reason — no second wait.
    assert.ok(rank1 instanceof PeerFailedError, String(rank1));
    assert.equal(rank1.peerRank, 0);
    assert.match(rank1.message, /no chunk from rank 2/);
    // Within the deadline plus scheduling slack on a loaded machine — not the 30 s default, no hang.
    assert.ok(elapsedMs < timeoutMs * 2 + 2_000, `failed after ${elapsedMs} ms`);
  } finally {
    await ring.close();
  }
});

test('reconfigure fails pending operations at once, then the new ring works (in a new order)', async () => {
  const ring = await startRing(3, { chunkKb: 1, timeoutMs: 20_000 });
  try {
    const pending = [ring.nodes[0]!.allReduce(new Float32Array(100)), ring.nodes[1]!.allReduce(new Float32Array(100))];
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    // Rank 2 left: ranks 0 and 1 form a ring of two, in swapped order, at generation 2.
    ring.nodes[1]!.reconfigure({ rank: 0, worldSize: 2, peers: [ring.addresses[1]!, ring.addresses[0]!], generation: 2 });
    ring.nodes[0]!.reconfigure({ rank: 1, worldSize: 2, peers: [ring.addresses[1]!, ring.addresses[0]!], generation: 2 });
    for (const result of await Promise.allSettled(pending)) {
      assert.equal(result.status, 'rejected');
      const error = (result as PromiseRejectedResult).reason as Error;
      assert.ok(error instanceof GenerationChangedError || error instanceof PeerFailedError, String(error));
    }
    assert.ok(Date.now() - started < 2_000, 'fails fast, not at the 20 s deadline');
    const buffers = [Float32Array.from([1, 2, 3]), Float32Array.from([10, 20, 30])];
    await Promise.all([ring.nodes[0]!.allReduce(buffers[0]!), ring.nodes[1]!.allReduce(buffers[1]!)]);
    for (const b of buffers) assert.deepEqual(Array.from(b), [11, 22, 33]);

    assert.throws(() => ring.nodes[0]!.reconfigure({ rank: 0, worldSize: 2, peers: ring.addresses.slice(0, 2), generation: 2 }), ConfigError);
    assert.throws(() => ring.nodes[0]!.reconfigure({ rank: 2, worldSize: 2, peers: ring.addresses.slice(0, 2), generation: 3 }), ConfigError);
    assert.throws(() => ring.nodes[0]!.reconfigure({ rank: 0, worldSize: 3, peers: ring.addresses.slice(0, 2), generation: 3 }), ConfigError);
  } finally {
    await ring.close();
  }
});

test('broadcast copies the root buffer to every rank, for every root and odd sizes', async () => {
  for (const worldSize of [2, 3, 4]) {
    const ring = await startRing(worldSize, { chunkKb: 1, timeoutMs: 10_000, lanes: 2 });
    try {
      for (const length of [1, 3, 1001]) {
        for (let root = 0; root < worldSize; root++) {
          const source = Float32Array.from({ length }, (_, i) => Math.fround(Math.sin(i + root) * 1e3));
          const buffers = ring.nodes.map((_, r) => (r === root ? source.slice() : new Float32Array(length).fill(NaN)));
          await Promise.all(ring.nodes.map((node, r) => node.broadcast(buffers[r]!, root)));
          for (const b of buffers) assert.deepEqual(b, source, `N=${worldSize} n=${length} root ${root}`);
        }
      }
      await assert.rejects(ring.nodes[0]!.broadcast(new Float32Array(1), worldSize), ConfigError);
    } finally {
      await ring.close();
    }
  }
});

test('barrier releases nobody before the last rank arrives', async () => {
  const ring = await startRing(3, { timeoutMs: 10_000 });
  try {
    let released = 0;
    const early = ring.nodes.slice(0, 2).map((node) => node.barrier().then(() => released++));
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(released, 0);
    await Promise.all([...early, ring.nodes[2]!.barrier()]);
    assert.equal(released, 2);
  } finally {
    await ring.close();
  }
});

test('a node reports its ephemeral port, refuses work without membership, and closes gracefully', async () => {
  const node = await CollectiveNode.start();
  assert.ok(node.port > 0);
  assert.equal(node.address, `127.0.0.1:${node.port}`);
  await assert.rejects(node.allReduce(new Float32Array(4)), CollectiveStateError);
  await assert.rejects(CollectiveNode.start({ defaults: { chunkKb: 0 } }), ConfigError);
  await assert.rejects(node.allReduce(new Float32Array(4), { dtype: 'bfloat16' as never }), ConfigError);
  await node.close();
  await node.close();
  await assert.rejects(node.allReduce(new Float32Array(4)), CollectiveStateError);

  // Closing fails a pending operation at once.
  const ring = await startRing(2, { timeoutMs: 20_000 });
  const pending = ring.nodes[0]!.allReduce(new Float32Array(10));
  const started = Date.now();
  await ring.nodes[0]!.close({ graceMs: 100 });
  await assert.rejects(pending, CollectiveStateError);
  assert.ok(Date.now() - started < 2_000);
  await ring.close();
});
