/**
 * The lean data path is gRPC on the wire: a ring of two where rank 0 is a CollectiveNode (lean
 * `node:http2` server and client) and rank 1 is made of stock parts only — a grpc-js server and a
 * grpc-js client with the protobufjs (de)serializers generated from collective.proto — all-reduces
 * correctly, in plaintext and under mutual TLS with the server-name override.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { loadCollectiveProto } from '../../core/proto/proto-loader.js';
import type { TensorChunk__Output } from '../../core/proto/generated/encourage/v1/TensorChunk.js';
import { createTestPki, RUN_SERVER_NAME } from '../../core/tls-fixture.js';
import { loadTls, type TlsMaterial } from '../../core/tls.js';
import { CollectiveNode } from './collective-node.js';
import { toPullRequest } from './pull-request.js';
import { RingLayout } from './ring-layout.js';

const GENERATION = 3;

/** Rank 1 of a 2-ring built from grpc-js and protobufjs only, all-reducing `input` with rank 0 at `rank0`. */
async function stockRank1(input: Float32Array, chunkElements: number, tls: TlsMaterial | null): Promise<{ address: string; peer: (rank0: string) => Promise<Float32Array>; close(): void }> {
  const collective = loadCollectiveProto().encourage.v1.Collective;
  const method = collective.service.PullChunks;
  const layout = new RingLayout(input.length, 2, chunkElements);
  const result = input.slice();
  // Rank 1 adds rank 0's reduce-scatter chunks of segment 0 and then owns that segment.
  let ownedReady!: () => void;
  const owned = new Promise<void>((resolve) => (ownedReady = resolve));
  const chunk = (phase: 'COLLECTIVE_PHASE_REDUCE_SCATTER' | 'COLLECTIVE_PHASE_ALL_GATHER', segment: number, c: number) => {
    const { start, length } = layout.chunk(segment, c);
    return {
      generation: GENERATION, sequence: 0, step: 0, kind: 'COLLECTIVE_KIND_ALL_REDUCE', phase, ringStep: 0, chunkIndex: c, senderRank: 1,
      dtype: 'WIRE_DTYPE_FLOAT32', offset: start, length, totalLength: input.length, data: Buffer.from(new Uint8Array(result.buffer, start * 4, length * 4)),
    };
  };
  const server = new grpc.Server();
  server.addService(collective.service, {
    PullChunks: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      void (async () => {
        for (let c = 0; c < layout.segment(1).chunks; c++) call.write(chunk('COLLECTIVE_PHASE_REDUCE_SCATTER', 1, c));
        await owned;
        for (let c = 0; c < layout.segment(0).chunks; c++) call.write(chunk('COLLECTIVE_PHASE_ALL_GATHER', 0, c));
        call.end();
      })();
    },
  });
  const credentials = tls === null ? grpc.ServerCredentials.createInsecure() : tls.serverCredentials();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  const peer = (rank0: string): Promise<Float32Array> =>
    new Promise((resolve, reject) => {
      const client = new grpc.Client(rank0, tls === null ? grpc.credentials.createInsecure() : tls.channelCredentials(), tls?.channelOptions() ?? {});
      const request = toPullRequest({ kind: 'all-reduce', generation: GENERATION, sequence: 0, step: 0, receiverRank: 1, lane: 0, lanes: 1, dtype: 'float32', totalLength: input.length });
      const call = client.makeServerStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, request, { deadline: Date.now() + 20_000 });
      let reduceScatter = 0;
      call.on('data', (message: TensorChunk__Output) => {
        assert.equal(message.generation, GENERATION);
        assert.equal(message.senderRank, 0);
        assert.equal(message.dtype, 'WIRE_DTYPE_FLOAT32');
        const values = new Float32Array(new Uint8Array(message.data).buffer);
        assert.equal(values.length, message.length);
        if (message.phase === 'COLLECTIVE_PHASE_REDUCE_SCATTER') {
          for (let i = 0; i < values.length; i++) result[message.offset + i]! += values[i]!;
          if (++reduceScatter === layout.segment(0).chunks) ownedReady();
        } else {
          assert.equal(message.phase, 'COLLECTIVE_PHASE_ALL_GATHER');
          result.set(values, message.offset);
        }
      });
      call.on('error', (error) => {
        client.close();
        reject(error);
      });
      call.on('status', (status: grpc.StatusObject) => {
        client.close();
        if (status.code === grpc.status.OK) resolve(result);
      });
    });
  return { address: `127.0.0.1:${port}`, peer, close: () => server.forceShutdown() };
}

async function allReduceWithStockRank(tls: TlsMaterial | null): Promise<void> {
  const length = 2_501;
  const chunkKb = 1;
  const input0 = Float32Array.from({ length }, (_, i) => (i % 97) - 40);
  const input1 = Float32Array.from({ length }, (_, i) => (i % 89) * 3 - 100);
  const expected = input0.map((v, i) => v + input1[i]!);
  const rank1 = await stockRank1(input1, (chunkKb * 1024) / 4, tls);
  const node = await CollectiveNode.start({ tls, defaults: { chunkKb, timeoutMs: 10_000 } });
  try {
    node.reconfigure({ rank: 0, worldSize: 2, peers: [node.address, rank1.address], generation: GENERATION });
    const buffer = input0.slice();
    const [theirs] = await Promise.all([rank1.peer(node.address), node.allReduce(buffer)]);
    assert.deepEqual(Array.from(buffer), Array.from(expected), 'rank 0 (lean) has the sum');
    assert.deepEqual(Array.from(theirs), Array.from(expected), 'rank 1 (grpc-js + protobufjs) has the sum');
  } finally {
    await node.close({ graceMs: 200 });
    rank1.close();
  }
}

test('a lean rank and a stock grpc-js rank all-reduce together over plaintext HTTP/2', async () => {
  await allReduceWithStockRank(null);
});

test('… and under mutual TLS, dialled by IP with certificates that name only encourage.internal', async () => {
  const pki = createTestPki();
  const tls = loadTls({ caFile: pki.namedOnly.ca, certFile: pki.namedOnly.cert, keyFile: pki.namedOnly.key, mutual: true, serverName: RUN_SERVER_NAME })!;
  await allReduceWithStockRank(tls);
});
