/**
 * A CollectiveNode in its own process, driven over the Node IPC channel: the multi-process tests
 * and scripts/bench-allreduce.ts fork this file, one process per rank, so that ranks really run
 * on separate event loops (and cores) as in a deployment.
 *
 * Inputs are generated from (seed, rank), so each process can compute the exact expected sum of
 * all ranks locally and report only the verdict: no tensors cross the IPC channel.
 */
import { createLogger, silentLogger } from '../../core/logging.js';
import { Rng } from '../../core/random.js';
import { CollectiveNode, type Membership } from './collective-node.js';
import { connectProbe, startProbeServer, type ProbeServer } from './http2-probe.js';
import type { CollectiveCallOptions, CollectiveOptions } from './collective-options.js';

/** Messages from the parent. */
export type WorkerCommand =
  | { readonly type: 'start'; readonly defaults?: Partial<CollectiveOptions>; readonly connectionsPerPeer?: number; readonly log?: boolean }
  | { readonly type: 'membership'; readonly membership: Membership }
  | { readonly type: 'verify'; readonly id: number; readonly length: number; readonly seed: number; readonly values: 'integer' | 'random'; readonly options?: CollectiveCallOptions }
  | {
      readonly type: 'bench';
      readonly id: number;
      readonly length: number;
      readonly warmup: number;
      readonly iters: number;
      readonly options?: CollectiveCallOptions;
      /** Block the event loop this long after each all-reduce, as a training step's synchronous compute does. */
      readonly busyMs?: number;
      /** The last rank blocks this much longer (it reaches every all-reduce after the others: compute imbalance). */
      readonly lastRankExtraMs?: number;
      /**
       * The last rank's event loop also stalls this long shortly after it started each all-reduce
       * (a GC pause, say), so that several of its neighbour's chunks are read in one turn.
       */
      readonly lastRankStallMs?: number;
    }
  | { readonly type: 'probe-start' }
  | { readonly type: 'probe-run'; readonly id: number; readonly leftAddress: string; readonly bytes: number; readonly warmup: number; readonly iters: number }
  | { readonly type: 'close' };

/** Messages to the parent. */
export type WorkerReply =
  | { readonly type: 'listening'; readonly address: string }
  | { readonly type: 'ready' }
  | { readonly type: 'verified'; readonly id: number; readonly maxAbsError: number; readonly maxAllowed: number; readonly mismatches: number }
  | {
      readonly type: 'bench';
      readonly id: number;
      readonly seconds: number[];
      /** CPU time (user + system) this process used over the timed iterations, in seconds: what a rank costs the machine, less noisy than wall time on a shared one. */
      readonly cpuSeconds: number;
    }
  | { readonly type: 'probe-listening'; readonly address: string }
  | { readonly type: 'failed'; readonly id?: number; readonly name: string; readonly message: string }
  | { readonly type: 'closed' };

/** Input of `rank` for a verification run: small integers (exact in float32 sums) or uniform [-1, 1). */
export function workerInput(length: number, seed: number, rank: number, values: 'integer' | 'random'): Float32Array {
  const rng = new Rng(seed * 1000 + rank);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = values === 'integer' ? rng.nextInt(201) - 100 : rng.next() * 2 - 1;
  return out;
}

/** Spin without yielding, like a synchronous WASM forward/backward pass. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function send(reply: WorkerReply): void {
  process.send?.(reply);
}

async function main(): Promise<void> {
  let node: CollectiveNode | undefined;
  let probe: ProbeServer | undefined;
  process.on('message', (command: WorkerCommand) => {
    void handle(command).catch((error: unknown) => {
      const e = error as Error;
      send({ type: 'failed', id: 'id' in command ? command.id : undefined, name: e.name, message: e.message });
    });
  });

  async function handle(command: WorkerCommand): Promise<void> {
    switch (command.type) {
      case 'start': {
        node = await CollectiveNode.start({
          defaults: command.defaults ?? {},
          connectionsPerPeer: command.connectionsPerPeer,
          logger: command.log === true ? createLogger({ name: 'collective-worker', level: 'debug' }) : silentLogger,
        });
        send({ type: 'listening', address: node.address });
        return;
      }
      case 'membership':
        requireNode().reconfigure(command.membership);
        send({ type: 'ready' });
        return;
      case 'verify': {
        const n = requireNode();
        const membership = n.membership!;
        const buffer = workerInput(command.length, command.seed, membership.rank, command.values);
        await n.allReduce(buffer, command.options ?? {});
        // Exact expected sum (float64 accumulation of all ranks' inputs, regenerated locally).
        const expected = new Float64Array(command.length);
        const magnitude = new Float64Array(command.length);
        for (let r = 0; r < membership.worldSize; r++) {
          const input = workerInput(command.length, command.seed, r, command.values);
          for (let i = 0; i < command.length; i++) {
            expected[i]! += input[i]!;
            magnitude[i]! += Math.abs(input[i]!);
          }
        }
        // float32 accumulation over N ranks: at most N roundings of partial sums, 2^-24 each.
        const fp16 = (command.options?.dtype ?? n.defaults.dtype) === 'float16';
        const unit = fp16 ? 2 ** -11 : 2 ** -24;
        let maxAbsError = 0;
        let maxAllowed = 0;
        let mismatches = 0;
        for (let i = 0; i < command.length; i++) {
          const error = Math.abs(buffer[i]! - expected[i]!);
          const allowed = command.values === 'integer' && !fp16 ? 0 : membership.worldSize * unit * magnitude[i]! + membership.worldSize * 2 ** -25;
          if (error > allowed) mismatches++;
          maxAbsError = Math.max(maxAbsError, error);
          maxAllowed = Math.max(maxAllowed, allowed);
        }
        send({ type: 'verified', id: command.id, maxAbsError, maxAllowed, mismatches });
        return;
      }
      case 'bench': {
        const n = requireNode();
        const buffer = new Float32Array(command.length).fill(1);
        for (let i = 0; i < command.warmup; i++) await n.allReduce(buffer, command.options ?? {});
        // Timed like the Gloo peer script (and nccl-tests): a barrier, then back-to-back
        // iterations; each iteration's time is recorded so the caller can take a median.
        await n.barrier();
        const seconds: number[] = [];
        const cpuBefore = process.cpuUsage();
        for (let i = 0; i < command.iters; i++) {
          const last = n.membership!.rank === n.membership!.worldSize - 1;
          const t0 = process.hrtime.bigint();
          const done = n.allReduce(buffer, command.options ?? {});
          if (last && command.lastRankStallMs !== undefined) {
            // Let the pull request and the first chunk go out, then stall.
            for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
            blockEventLoop(command.lastRankStallMs);
          }
          await done;
          seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
          if (command.busyMs !== undefined) blockEventLoop(command.busyMs + (last ? (command.lastRankExtraMs ?? 0) : 0));
        }
        const cpu = process.cpuUsage(cpuBefore);
        send({ type: 'bench', id: command.id, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
        return;
      }
      case 'probe-start':
        probe ??= await startProbeServer();
        send({ type: 'probe-listening', address: probe.address });
        return;
      case 'probe-run': {
        const client = await connectProbe(command.leftAddress);
        try {
          for (let i = 0; i < command.warmup; i++) await client.pull(command.bytes);
          const seconds: number[] = [];
          const cpuBefore = process.cpuUsage();
          for (let i = 0; i < command.iters; i++) seconds.push(await client.pull(command.bytes));
          const cpu = process.cpuUsage(cpuBefore);
          send({ type: 'bench', id: command.id, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 });
        } finally {
          client.close();
        }
        return;
      }
      case 'close':
        probe?.close();
        await node?.close();
        send({ type: 'closed' });
        process.disconnect?.();
        // Exit even if some library handle lingers; unref'd so a clean loop exits sooner.
        setTimeout(() => process.exit(0), 1000).unref();
        return;
    }
  }

  function requireNode(): CollectiveNode {
    if (node === undefined) throw new Error('worker not started');
    return node;
  }
}

if (process.send !== undefined) void main();
