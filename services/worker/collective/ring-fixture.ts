/**
 * Test fixture: N CollectiveNodes in this process on loopback, wired into a ring. Real gRPC
 * servers and clients on 127.0.0.1 — only the processes are shared (see worker-ring.ts for
 * separate processes).
 */
import { CollectiveNode } from './collective-node.js';
import type { CollectiveOptions } from './collective-options.js';

export interface RingFixture {
  readonly nodes: CollectiveNode[];
  readonly addresses: string[];
  /** Give every node the ring (in `order`, default rank order) with `generation`. */
  reconfigure(generation: number, order?: readonly number[]): void;
  close(): Promise<void>;
}

/** Start `worldSize` nodes and configure the ring at generation 1. */
export async function startRing(worldSize: number, defaults: Partial<CollectiveOptions> = {}): Promise<RingFixture> {
  const nodes = await Promise.all(Array.from({ length: worldSize }, () => CollectiveNode.start({ defaults })));
  const addresses = nodes.map((node) => node.address);
  const fixture: RingFixture = {
    nodes,
    addresses,
    reconfigure(generation, order = nodes.map((_, i) => i)) {
      const peers = order.map((index) => addresses[index]!);
      order.forEach((index, rank) => nodes[index]!.reconfigure({ rank, worldSize: order.length, peers, generation }));
    },
    async close() {
      await Promise.all(nodes.map((node) => node.close({ graceMs: 500 })));
    },
  };
  fixture.reconfigure(1);
  return fixture;
}
