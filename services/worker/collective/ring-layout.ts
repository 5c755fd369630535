/**
 * How a flat buffer is cut for a ring all-reduce: N segments (one per rank, as even as possible,
 * the first `n mod N` one element longer — Gloo's and NCCL's split), each cut into chunks of at
 * most `chunkElements`. Every rank computes the same layout from (n, N, chunkElements), so a
 * chunk is identified on the wire by (phase, ring step, chunk index) and its offset and length
 * can be checked by the receiver.
 *
 * Ring schedule (Patarasuk & Yuan 2009; Baidu's ring-allreduce; NCCL's ring): rank r sends to
 * r+1 and receives from r−1. Reduce-scatter step s: send segment r−s, receive and add segment
 * r−s−1; after N−1 steps rank r owns the fully reduced segment r+1. All-gather step s: send
 * segment r+1−s, receive (overwrite) segment r−s. Chunks are pipelined: chunk c of step s+1 is
 * sent as soon as chunk c of step s has been received, so all steps are in flight at once.
 */

/** `a mod n` in [0, n). */
export function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

/** A contiguous range of elements. */
export interface ElementRange {
  readonly start: number;
  readonly length: number;
}

/** One rank's share of the buffer. */
export interface Segment extends ElementRange {
  /** Number of chunks (0 for an empty segment). */
  readonly chunks: number;
}

export class RingLayout {
  readonly segments: readonly Segment[];
  /** Largest chunk count of any segment. */
  readonly maxChunks: number;

  constructor(
    readonly totalLength: number,
    readonly worldSize: number,
    readonly chunkElements: number,
  ) {
    if (!Number.isInteger(totalLength) || totalLength < 0) throw new RangeError(`totalLength must be a natural number, got ${totalLength}`);
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`worldSize must be >= 1, got ${worldSize}`);
    if (!Number.isInteger(chunkElements) || chunkElements < 1) throw new RangeError(`chunkElements must be >= 1, got ${chunkElements}`);
    const base = Math.floor(totalLength / worldSize);
    const extra = totalLength % worldSize;
    const segments: Segment[] = [];
    for (let j = 0; j < worldSize; j++) {
      const length = base + (j < extra ? 1 : 0);
      segments.push({ start: j * base + Math.min(j, extra), length, chunks: Math.ceil(length / chunkElements) });
    }
    this.segments = segments;
    this.maxChunks = segments.reduce((m, s) => Math.max(m, s.chunks), 0);
  }

  segment(index: number): Segment {
    const segment = this.segments[mod(index, this.worldSize)];
    if (segment === undefined) throw new RangeError(`no segment ${index}`);
    return segment;
  }

  /** Element range of chunk `chunk` of segment `segmentIndex` (relative to the buffer start). */
  chunk(segmentIndex: number, chunk: number): ElementRange {
    const segment = this.segment(segmentIndex);
    const start = chunk * this.chunkElements;
    if (chunk < 0 || chunk >= segment.chunks) throw new RangeError(`segment ${segmentIndex} has no chunk ${chunk}`);
    return { start: segment.start + start, length: Math.min(this.chunkElements, segment.length - start) };
  }

  /** Segment rank `rank` sends in reduce-scatter step `step`. */
  reduceScatterSendSegment(rank: number, step: number): number {
    return mod(rank - step, this.worldSize);
  }

  /** Segment rank `rank` receives (and adds) in reduce-scatter step `step`. */
  reduceScatterReceiveSegment(rank: number, step: number): number {
    return mod(rank - step - 1, this.worldSize);
  }

  /** Segment rank `rank` sends in all-gather step `step` (step 0: the segment it owns). */
  allGatherSendSegment(rank: number, step: number): number {
    return mod(rank + 1 - step, this.worldSize);
  }

  /** Segment rank `rank` receives (and overwrites) in all-gather step `step`. */
  allGatherReceiveSegment(rank: number, step: number): number {
    return mod(rank - step, this.worldSize);
  }

  /** Number of chunks rank `rank` receives over the whole all-reduce. */
  chunksReceivedBy(rank: number): number {
    let total = 0;
    for (let s = 0; s < this.worldSize - 1; s++) {
      total += this.segment(this.reduceScatterReceiveSegment(rank, s)).chunks;
      total += this.segment(this.allGatherReceiveSegment(rank, s)).chunks;
    }
    return total;
  }
}
