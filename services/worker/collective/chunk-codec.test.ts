import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCollectiveProto } from '../../core/proto/proto-loader.js';
import { BufferPool } from './buffer-pool.js';
import { allocateChunk, checksumOf, chunkHead, decodeChunk, sealChunk, type OutgoingHeader } from './chunk-codec.js';

const header = (over: Partial<OutgoingHeader> = {}): OutgoingHeader => ({
  generation: 3,
  sequence: 1234567,
  step: 2 ** 40 + 5,
  kind: 1,
  phase: 2,
  ringStep: 0,
  chunkIndex: 17,
  senderRank: 4,
  dtype: 1,
  offset: 2 ** 33 + 1,
  length: 5,
  totalLength: 2 ** 35,
  ...over,
});

/** What grpc-js does with a message: frame it with a 5-byte prefix in a fresh buffer, then hand `frame.subarray(5)` to the deserializer. */
function throughGrpcFraming(message: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(message.length + 5);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame.subarray(5);
}

test('a chunk round-trips, and its payload lands 4-byte aligned after gRPC framing', () => {
  for (const length of [0, 1, 2, 3, 5, 127, 128, 1000]) {
    for (const over of [{}, { ringStep: 1, generation: 0 }, { sequence: 0, step: 0, offset: 0, totalLength: 127 }, { senderRank: 300, chunkIndex: 2 ** 20 }]) {
      for (const withChecksum of [false, true]) {
        const h = header({ ...over, length });
        const out = allocateChunk(h, length * 4, withChecksum);
        assert.equal(out.payload.byteOffset % 4, 0, 'payload aligned in the sender buffer');
        const values = Float32Array.from({ length }, (_, i) => i * 1.5 - 7);
        out.payload.set(new Uint8Array(values.buffer));
        sealChunk(out);
        const decoded = decodeChunk(throughGrpcFraming(out.message));
        assert.equal(decoded.malformed, undefined);
        assert.equal(decoded.copied, false, `no copy needed (length ${length}, ${JSON.stringify(over)})`);
        assert.equal(decoded.data.byteOffset % 4, 0);
        const { checksum, ...rest } = decoded.header;
        assert.deepEqual(rest, h);
        assert.equal(checksum, withChecksum ? checksumOf(out.payload) : undefined);
        assert.deepEqual(new Float32Array(decoded.data.buffer, decoded.data.byteOffset, length), values);
      }
    }
  }
});

test('the hand-written encoding is a valid TensorChunk for protobufjs, both ways', () => {
  const method = loadCollectiveProto().encourage.v1.Collective.service.PullChunks;
  const h = header({ length: 3 });
  const out = allocateChunk(h, 12, true);
  out.payload.set(new Uint8Array(new Float32Array([1, -2, 3.5]).buffer));
  sealChunk(out);
  const viaProtobufjs = method.responseDeserialize(out.message);
  assert.equal(viaProtobufjs.generation, h.generation);
  assert.equal(viaProtobufjs.sequence, h.sequence);
  assert.equal(viaProtobufjs.step, h.step);
  assert.equal(viaProtobufjs.kind, 'COLLECTIVE_KIND_ALL_REDUCE');
  assert.equal(viaProtobufjs.phase, 'COLLECTIVE_PHASE_ALL_GATHER');
  assert.equal(viaProtobufjs.chunkIndex, h.chunkIndex);
  assert.equal(viaProtobufjs.offset, h.offset);
  assert.equal(viaProtobufjs.totalLength, h.totalLength);
  assert.equal(viaProtobufjs.checksum, checksumOf(out.payload));
  assert.deepEqual(new Float32Array(new Uint8Array(viaProtobufjs.data).buffer), new Float32Array([1, -2, 3.5]));

  const data = Buffer.from(new Float32Array([9, 8]).buffer);
  const encoded = method.responseSerialize({ generation: 7, sequence: 2, step: 9, kind: 'COLLECTIVE_KIND_BROADCAST', phase: 'COLLECTIVE_PHASE_BROADCAST', ringStep: 1, dtype: 'WIRE_DTYPE_FLOAT32', offset: 4, length: 2, totalLength: 6, data, checksum: 42 });
  const decoded = decodeChunk(encoded);
  assert.equal(decoded.malformed, undefined);
  assert.deepEqual(
    { ...decoded.header },
    { generation: 7, sequence: 2, step: 9, kind: 2, phase: 3, ringStep: 1, chunkIndex: 0, senderRank: 0, dtype: 1, offset: 4, length: 2, totalLength: 6, checksum: 42 },
  );
  assert.deepEqual(new Float32Array(decoded.data.buffer, decoded.data.byteOffset, 2), new Float32Array([9, 8]));
});

test('misaligned payloads are copied once; malformed bytes are reported, not thrown', () => {
  // Without the 5-byte gRPC prefix in front, the payload of our own encoding sits at 3 mod 4.
  const out = allocateChunk(header({ length: 1 }), 4, false);
  out.payload.set([1, 2, 3, 4]);
  const unframed = Buffer.alloc(out.message.length);
  out.message.copy(unframed);
  const decoded = decodeChunk(unframed);
  assert.equal(decoded.copied, true);
  assert.equal(decoded.data.byteOffset % 4, 0);
  assert.deepEqual([...decoded.data], [1, 2, 3, 4]);
  assert.equal(decodeChunk(throughGrpcFraming(out.message)).copied, false);

  assert.match(decodeChunk(Buffer.from([0x08])).malformed ?? '', /truncated varint/);
  assert.match(decodeChunk(Buffer.from([0x7a, 0x10, 1, 2])).malformed ?? '', /overruns/);
  assert.match(decodeChunk(Buffer.from([0x0b])).malformed ?? '', /wire type 3/);
});

test('pooled message buffers are reused once released, and bounded', () => {
  const pool = new BufferPool({ maxPerClass: 2, maxBytes: 1 << 30 });
  const first = allocateChunk(header({ length: 1000 }), 4000, false, pool);
  pool.release(first.arrayBuffer);
  const second = allocateChunk(header({ length: 1001 }), 4004, false, pool);
  assert.equal(second.arrayBuffer, first.arrayBuffer, 'same size class reuses the buffer');
  assert.equal(pool.hits, 1);
  const buffers = [pool.acquire(10), pool.acquire(10), pool.acquire(10)];
  for (const b of buffers) pool.release(b);
  assert.equal([pool.acquire(10), pool.acquire(10), pool.acquire(10)].filter((b) => buffers.includes(b)).length, 2, 'at most maxPerClass kept');
});

test('a head written for a payload sent where it lies forms, with that payload, the very frame allocateChunk builds', () => {
  for (const length of [0, 1, 3, 1000]) {
    for (const withChecksum of [false, true]) {
      const h = header({ length });
      const values = Float32Array.from({ length }, (_, i) => Math.sin(i));
      const whole = allocateChunk(h, length * 4, withChecksum);
      whole.payload.set(new Uint8Array(values.buffer));
      sealChunk(whole);
      const payload = new Uint8Array(values.buffer);
      const head = chunkHead(h, payload, withChecksum);
      assert.deepEqual(Buffer.concat([head, payload]), whole.frame, `length ${length}, checksum ${withChecksum}`);
      assert.equal(whole.frame.readUInt32BE(1), whole.message.length, 'the gRPC prefix carries the message length');
    }
  }
});
