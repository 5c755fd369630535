/**
 * What the worker runtime needs from the data plane: a ring endpoint that can all-reduce and
 * broadcast flat float32 buffers. Implemented by `CollectiveNode` (services/worker/collective).
 */
export interface RingMembership {
  readonly rank: number;
  readonly worldSize: number;
  /** Collective addresses in ring order (index = rank). */
  readonly peers: readonly string[];
  readonly generation: number;
  /** Wire format of this generation's all-reduce, the same on every rank (from the coordinator). */
  readonly allreduceDtype: 'float32' | 'float16';
}

export interface RingCollective {
  /** host:port that ring neighbours connect to. */
  readonly address: string;
  reconfigure(membership: RingMembership): void;
  /** Sum `buffer` in place across the ring; resolves with the bytes this rank sent. */
  allReduce(buffer: Float32Array, options: { step?: number }): Promise<{ bytesSent: number }>;
  /** Overwrite `buffer` with root's copy on every rank. */
  broadcast(buffer: Float32Array, root: number): Promise<void>;
  /**
   * Fail the pending collective and every later one with `error` until the next reconfigure:
   * the coordinator announced a lost peer, so waiting for it would only run into the deadline.
   */
  abort(error: Error): void;
  /** Forget the ring and its generation numbering (a new coordinator incarnation). */
  reset(error: Error): void;
  close(): Promise<void>;
}
