import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from './buffer-pool.js';
import { allocateChunk, decodeChunk, sealChunk } from './chunk-codec.js';
import { frameMessage, GRPC_PREFIX_BYTES, MessageReader, type FramingProblem } from './grpc-framing.js';

/** A reader that records what it delivers (copies: delivered memory is reused afterwards). */
function recorder(maxMessageBytes: number, pool?: BufferPool): { reader: MessageReader; messages: Buffer[]; problems: FramingProblem[]; inPlace: number } {
  const out = { messages: [] as Buffer[], problems: [] as FramingProblem[], inPlace: 0, reader: undefined as unknown as MessageReader };
  out.reader = new MessageReader({
    maxMessageBytes,
    ...(pool === undefined ? {} : { pool }),
    onMessage: (message) => out.messages.push(Buffer.from(message)),
    onProblem: (problem) => out.problems.push(problem),
  });
  return out;
}

test('messages split at every possible boundary are reassembled exactly and in order', () => {
  const bodies = [Buffer.from('first'), Buffer.alloc(0), Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251)), Buffer.from('last one')];
  const stream = Buffer.concat(bodies.map(frameMessage));
  for (let cut1 = 0; cut1 <= stream.length; cut1 += 7) {
    for (const cut2 of [cut1, Math.min(stream.length, cut1 + 1), Math.min(stream.length, cut1 + 6), stream.length]) {
      const r = recorder(1024, new BufferPool());
      for (const piece of [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)]) r.reader.push(piece);
      assert.deepEqual(r.messages, bodies, `cuts ${cut1}/${cut2}`);
      assert.equal(r.problems.length, 0);
      assert.equal(r.reader.partial, false);
    }
  }
});

test('a chunk reassembled from DATA pieces has its payload 4-byte aligned, in a pooled buffer reused by the next one', () => {
  const pool = new BufferPool();
  const seen: Array<{ aligned: boolean; copied: boolean; buffer: ArrayBufferLike; first: number }> = [];
  const reader = new MessageReader({
    maxMessageBytes: 1 << 20,
    pool,
    onMessage: (message) => {
      const chunk = decodeChunk(message);
      seen.push({ aligned: chunk.data.byteOffset % 4 === 0, copied: chunk.copied, buffer: chunk.data.buffer, first: new Float32Array(chunk.data.buffer, chunk.data.byteOffset, 1)[0]! });
    },
    onProblem: (problem) => assert.fail(JSON.stringify(problem)),
  });
  for (const value of [1.5, -2.25]) {
    const out = allocateChunk({ generation: 1, sequence: 2, step: 3, kind: 1, phase: 1, ringStep: 0, chunkIndex: 0, senderRank: 0, dtype: 1, offset: 0, length: 5000, totalLength: 5000 }, 20_000, true);
    new Float32Array(out.payload.buffer, out.payload.byteOffset, 5000).fill(value);
    sealChunk(out);
    // 16 KiB DATA frames at an odd offset, as the HTTP/2 layer slices its read buffer.
    const wire = Buffer.concat([Buffer.alloc(3), out.frame]).subarray(3);
    for (let at = 0; at < wire.length; at += 16_384) reader.push(wire.subarray(at, at + 16_384));
  }
  assert.deepEqual(seen.map((s) => [s.aligned, s.copied, s.first]), [[true, false, 1.5], [true, false, -2.25]]);
  assert.equal(seen[0]!.buffer, seen[1]!.buffer, 'the second message reuses the first one\'s pooled buffer');
  assert.ok(pool.hits >= 1);
});

test('a whole, aligned message inside one piece is delivered in place, without a copy', () => {
  const frame = frameMessage(Buffer.from('abc'));
  const aligned = Buffer.alloc(64);
  frame.copy(aligned, 8);
  let view: Buffer | undefined;
  new MessageReader({ maxMessageBytes: 100, onMessage: (m) => (view = m), onProblem: () => assert.fail() }).push(aligned.subarray(8, 8 + frame.length));
  assert.equal(view?.buffer, aligned.buffer, 'a view of the piece itself');
  assert.equal(view?.toString(), 'abc');
});

test('an oversized prefix is refused before its bytes are buffered; a compressed message is refused; later bytes are ignored', () => {
  const big = Buffer.alloc(GRPC_PREFIX_BYTES);
  big.writeUInt32BE(65_537, 1);
  const r = recorder(65_536);
  r.reader.push(big);
  assert.deepEqual(r.problems, [{ kind: 'too-large', bytes: 65_537, limit: 65_536 }]);
  r.reader.push(frameMessage(Buffer.from('ignored')));
  assert.equal(r.messages.length, 0);

  const compressed = frameMessage(Buffer.from('zz'));
  compressed[0] = 1;
  const c = recorder(100);
  c.reader.push(compressed.subarray(0, 2));
  c.reader.push(compressed.subarray(2));
  assert.deepEqual(c.problems, [{ kind: 'compressed' }]);

  const cut = recorder(100);
  cut.reader.push(frameMessage(Buffer.from('truncated')).subarray(0, 9));
  assert.equal(cut.reader.partial, true, 'a stream that ends here ended mid-message');
});
