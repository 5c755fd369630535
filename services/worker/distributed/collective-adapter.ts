/**
 * Binds the worker runtime's `RingCollective` port to the gRPC `CollectiveNode`, with the run's
 * all-reduce settings (fusion bucket, chunk size) and each generation's wire dtype, which the
 * coordinator decides for the whole ring (core/training/allreduce-dtype.ts).
 */
import type { Logger } from 'pino';
import type { TlsMaterial } from '../../core/tls.js';
import type { TrainConfig } from '../../core/training/train-config.js';
import { CollectiveNode } from '../collective/collective-node.js';
import type { RingCollective, RingMembership } from './ring-collective.js';

/** Bytes one rank sends in a ring all-reduce of `elements` values: 2(N−1)/N of the buffer. */
export function ringAllReduceBytes(elements: number, worldSize: number, dtype: 'float32' | 'float16'): number {
  return worldSize <= 1 ? 0 : Math.round((2 * (worldSize - 1) * elements * (dtype === 'float16' ? 2 : 4)) / worldSize);
}

/** Start this worker's collective endpoint on host:port (0: ephemeral). */
export async function openCollectiveNode(host: string, port: number, config: TrainConfig, logger: Logger, tls: TlsMaterial | null = null): Promise<RingCollective> {
  const node = await CollectiveNode.start({
    host,
    port,
    logger,
    tls,
    defaults: { bucketMb: config.allreduce.bucketMb, chunkKb: config.allreduce.chunkKb, timeoutMs: config.allreduce.timeoutMs },
  });
  let worldSize = 1;
  let dtype: 'float32' | 'float16' = 'float32';
  let aborted: Error | null = null;
  const guard = async <T>(op: () => Promise<T>): Promise<T> => {
    if (aborted !== null) throw aborted;
    return op();
  };
  return {
    get address() {
      return node.address;
    },
    reconfigure(m: RingMembership) {
      worldSize = m.worldSize;
      dtype = m.allreduceDtype;
      aborted = null;
      node.reconfigure({ rank: m.rank, worldSize: m.worldSize, peers: m.peers, generation: m.generation });
    },
    allReduce: (buffer, options) =>
      guard(async () => {
        if (worldSize > 1) await node.allReduce(buffer, options.step === undefined ? { dtype } : { step: options.step, dtype });
        return { bytesSent: ringAllReduceBytes(buffer.length, worldSize, dtype) };
      }),
    broadcast: (buffer, root) =>
      guard(async () => {
        if (worldSize > 1) await node.broadcast(buffer, root);
      }),
    abort(error: Error) {
      aborted = error;
      node.abortPending(error);
    },
    reset(error: Error) {
      aborted = error;
      node.resetMembership(error);
    },
    close: () => node.close(),
  };
}
