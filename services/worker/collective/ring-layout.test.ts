import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingLayout } from './ring-layout.js';

test('segments and chunks tile the buffer exactly, for sizes smaller and larger than the ring', () => {
  for (const worldSize of [1, 2, 3, 4, 5, 7]) {
    for (const total of [0, 1, 2, worldSize - 1, worldSize, worldSize + 1, 1009, 4096]) {
      for (const chunkElements of [1, 3, 64, 100_000]) {
        const layout = new RingLayout(total, worldSize, chunkElements);
        const covered = new Uint8Array(total);
        for (let j = 0; j < worldSize; j++) {
          const segment = layout.segment(j);
          assert.ok(segment.length === Math.floor(total / worldSize) || segment.length === Math.ceil(total / worldSize));
          let inSegment = 0;
          for (let c = 0; c < segment.chunks; c++) {
            const { start, length } = layout.chunk(j, c);
            assert.ok(length >= 1 && length <= chunkElements);
            for (let i = start; i < start + length; i++) covered[i]!++;
            inSegment += length;
          }
          assert.equal(inSegment, segment.length);
        }
        assert.ok(covered.every((c) => c === 1), `n=${total} N=${worldSize} chunk=${chunkElements}`);
      }
    }
  }
});

test('the schedule moves every segment to every rank: a simulated ring sums exactly', () => {
  for (const worldSize of [2, 3, 4, 5]) {
    const total = 23;
    const layout = new RingLayout(total, worldSize, 2);
    const buffers = Array.from({ length: worldSize }, (_, r) => Float64Array.from({ length: total }, (_, i) => (r + 1) * 1000 + i));
    const expected = Float64Array.from({ length: total }, (_, i) => buffers.reduce((s, b) => s + b[i]!, 0));
    for (let step = 0; step < worldSize - 1; step++) {
      // Every rank sends the step's segment before anyone receives (a synchronous ring step).
      const sent = buffers.map((b, r) => {
        const seg = layout.segment(layout.reduceScatterSendSegment(r, step));
        return b.slice(seg.start, seg.start + seg.length);
      });
      buffers.forEach((b, r) => {
        const seg = layout.segment(layout.reduceScatterReceiveSegment(r, step));
        assert.equal(layout.reduceScatterSendSegment((r - 1 + worldSize) % worldSize, step), layout.reduceScatterReceiveSegment(r, step));
        const incoming = sent[(r - 1 + worldSize) % worldSize]!;
        for (let i = 0; i < seg.length; i++) b[seg.start + i]! += incoming[i]!;
      });
    }
    for (let step = 0; step < worldSize - 1; step++) {
      const sent = buffers.map((b, r) => {
        const seg = layout.segment(layout.allGatherSendSegment(r, step));
        return b.slice(seg.start, seg.start + seg.length);
      });
      buffers.forEach((b, r) => {
        const seg = layout.segment(layout.allGatherReceiveSegment(r, step));
        b.set(sent[(r - 1 + worldSize) % worldSize]!, seg.start);
      });
    }
    for (const b of buffers) assert.deepEqual(b, expected);
    const received = Array.from({ length: worldSize }, (_, r) => layout.chunksReceivedBy(r));
    assert.equal(received.reduce((a, b) => a + b, 0), 2 * (worldSize - 1) * layout.segments.reduce((s, seg) => s + seg.chunks, 0));
  }
});

test('invalid layouts are refused', () => {
  assert.throws(() => new RingLayout(-1, 2, 1), RangeError);
  assert.throws(() => new RingLayout(10, 0, 1), RangeError);
  assert.throws(() => new RingLayout(10, 2, 0), RangeError);
  assert.throws(() => new RingLayout(10, 2, 4).chunk(0, 2), RangeError);
});
