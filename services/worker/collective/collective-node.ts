/**
 * One worker's end of the collective data plane: serves `encourage.v1.Collective` for its left
 * ring neighbour, talks to its right neighbour, and runs all-reduce, broadcast and barrier.
 *
 * Membership (rank, world size, ring order, generation) comes from the coordinator through
 * {@link CollectiveNode.reconfigure}; the node can start serving before it has one, so that it
 * can report its bound address when it registers. Operations are numbered per generation in the
 * order they are issued, and every rank must issue the same collectives in the same order (the
 * NCCL/Gloo/Horovod contract); a reconfiguration fails every pending operation of the old
 * generation at once.
 */
import type { TlsMaterial } from '../../core/tls.js';
import { ConfigError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logging.js';
import { CollectiveStateError, GenerationChangedError } from './collective-errors.js';
import { DEFAULT_COLLECTIVE_OPTIONS, resolveCollectiveOptions, type CollectiveCallOptions, type CollectiveOptions } from './collective-options.js';
import { pullHandler } from './collective-service.js';
import { LeanCollectiveServer } from './lean-server.js';
import { BufferPool } from './buffer-pool.js';
import { OperationChannel, type OperationHandler, type RingPosition } from './operation-channel.js';
import { OperationQueue } from './operation-queue.js';
import { Outbox } from './outbox.js';
import { PeerLink } from './peer-link.js';
import { allReduce, type RingTransport } from './ring-allreduce.js';
import { broadcast } from './ring-broadcast.js';
import type { RingOperationInit } from './ring-operation.js';

/** The ring as assigned by the coordinator. */
export interface Membership {
  readonly rank: number;
  readonly worldSize: number;
  /** Collective addresses (host:port) in ring order; index = rank. */
  readonly peers: readonly string[];
  /** Strictly increasing across reconfigurations. */
  readonly generation: number;
}

export interface CollectiveNodeOptions {
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Port to listen on; 0 (default) picks an ephemeral one, see {@link CollectiveNode.port}. */
  readonly port?: number;
  readonly logger?: Logger;
  /** Defaults of every collective call. */
  readonly defaults?: Partial<CollectiveOptions>;
  /** Distinct HTTP/2 connections to the right neighbour over which lanes are spread (default 2). */
  readonly connectionsPerPeer?: number;
  /** Initial membership (otherwise call {@link CollectiveNode.reconfigure} before any collective). */
  readonly membership?: Membership;
  /** TLS (or mutual TLS) for the server and the links to the neighbour (default: plaintext). */
  readonly tls?: TlsMaterial | null;
}

/** Bound on pull requests waiting for their operation to start here. */
const MAX_PARKED_REQUESTS = 4096;
/** How long {@link CollectiveNode.close} lets in-flight calls finish before cancelling them. */
const DEFAULT_CLOSE_GRACE_MS = 2000;
const DEFAULT_CONNECTIONS_PER_PEER = 2;

export class CollectiveNode {
  readonly defaults: CollectiveOptions;
  private membershipValue: Membership | undefined;
  private link: PeerLink | undefined;
  private nextSequence = 0;
  private readonly channels = new Set<OperationChannel>();
  private readonly outbox: Outbox;
  private closed = false;
  private readonly transport: RingTransport;
  private readonly pool = new BufferPool();
  private readonly queue = new OperationQueue();

  private constructor(
    private readonly server: LeanCollectiveServer,
    readonly host: string,
    /** The bound port (the ephemeral one when 0 was requested). */
    readonly port: number,
    private readonly logger: Logger,
    defaults: CollectiveOptions,
    private readonly connectionsPerPeer: number,
    outbox: Outbox,
    private readonly tls: TlsMaterial | null,
  ) {
    this.defaults = defaults;
    this.outbox = outbox;
    this.transport = {
      defaults,
      position: () => this.position(),
      reserveSequences: (count) => this.reserveSequences(count),
      pool: this.pool,
      queue: this.queue,
      openChannel: (init, handler) => this.openChannel(init, handler),
    };
  }

  /**
   * Start serving on `host:port`.
   *
   * @throws ConfigError for invalid options; the bind error when the port is taken.
   */
  static async start(options: CollectiveNodeOptions = {}): Promise<CollectiveNode> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError('collective.port', port, 'an integer in [0, 65535]');
    const connections = options.connectionsPerPeer ?? DEFAULT_CONNECTIONS_PER_PEER;
    if (!Number.isInteger(connections) || connections < 1 || connections > 64) {
      throw new ConfigError('collective.connectionsPerPeer', connections, 'an integer in [1, 64]');
    }
    const defaults = resolveCollectiveOptions(DEFAULT_COLLECTIVE_OPTIONS, options.defaults ?? {});
    const logger = options.logger ?? silentLogger;
    const outbox = new Outbox({ parkTimeoutMs: defaults.timeoutMs, maxParked: MAX_PARKED_REQUESTS, logger });
    const server = await LeanCollectiveServer.start({ host, port, tls: options.tls ?? null, logger, onPull: pullHandler(outbox) });
    const node = new CollectiveNode(server, host, server.port, logger, defaults, connections, outbox, options.tls ?? null);
    if (options.membership !== undefined) node.reconfigure(options.membership);
    logger.info({ address: node.address }, 'collective: serving');
    return node;
  }

  /** The ring as the free functions `allReduce(buffer, { ring })` / `broadcast` expect it. */
  get ring(): RingTransport {
    return this.transport;
  }

  /** `host:port` to give to the neighbours. */
  get address(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get membership(): Membership | undefined {
    return this.membershipValue;
  }

  /** Collective operations running and waiting for their turn on this node (diagnostics, tests). */
  get operations(): { readonly inFlight: number; readonly queued: number } {
    return { inFlight: this.queue.inFlight, queued: this.queue.queued };
  }

  /** Pull requests waiting for their operation to start here (diagnostics, tests). */
  get parkedPulls(): number {
    return this.outbox.parkedCount;
  }

  /**
   * Adopt a new membership. Pending operations of the old generation fail at once with
   * GenerationChangedError; streams already waiting for the new generation are kept.
   *
   * @throws ConfigError when the membership is inconsistent or its generation does not increase.
   */
  reconfigure(membership: Membership): void {
    this.assertOpen();
    const { rank, worldSize, peers, generation } = membership;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new ConfigError('membership.worldSize', worldSize, 'an integer >= 1');
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new ConfigError('membership.rank', rank, `an integer in [0, ${worldSize - 1}]`);
    if (peers.length !== worldSize) throw new ConfigError('membership.peers', peers, `${worldSize} addresses in ring order`);
    const previous = this.membershipValue;
    if (!Number.isInteger(generation) || generation < 0 || (previous !== undefined && generation <= previous.generation)) {
      throw new ConfigError('membership.generation', generation, `an integer greater than ${previous?.generation ?? -1}`);
    }
    for (const channel of [...this.channels]) channel.failPending(new GenerationChangedError(channel.operation, generation));
    // Operations of the old generation that never started fail now instead of at their turn.
    this.queue.drop((queued) => (queued.operation.generation < generation ? new GenerationChangedError(queued.operation, generation) : undefined));
    this.membershipValue = { rank, worldSize, peers: [...peers], generation };
    this.nextSequence = 0;
    this.outbox.setGeneration(generation);
    // This rank pulls from its left neighbour; keep the connections when that did not change.
    const leftRank = (rank - 1 + worldSize) % worldSize;
    const left = peers[leftRank]!;
    if (this.link === undefined || this.link.address !== left || this.link.rank !== leftRank) {
      this.link?.close();
      this.link = new PeerLink(leftRank, left, this.connectionsPerPeer, this.tls, this.pool);
    }
    this.logger.info({ rank, worldSize, generation, left }, 'collective: reconfigured');
  }

  /** Sum `buffer` in place across the ring (see {@link allReduce}). */
  allReduce(buffer: Float32Array, options: CollectiveCallOptions = {}): Promise<void> {
    return allReduce(buffer, { ...options, ring: this.transport });
  }

  /** Copy the root's `buffer` into every rank's `buffer` (see {@link broadcast}). */
  broadcast(buffer: Float32Array, rootRank: number, options: CollectiveCallOptions = {}): Promise<void> {
    return broadcast(buffer, rootRank, { ...options, ring: this.transport });
  }

  /**
   * Wait until every rank has entered the barrier: a ring all-reduce of one element per rank,
   * which no rank can finish before every rank's contribution went round.
   */
  async barrier(options: Pick<CollectiveCallOptions, 'timeoutMs' | 'step'> = {}): Promise<void> {
    const worldSize = this.position().worldSize;
    const tokens = new Float32Array(worldSize).fill(1);
    await allReduce(tokens, { ...options, dtype: 'float32', chunkKb: 1, lanes: 1, ring: this.transport, kind: 'barrier' });
    const bad = tokens.findIndex((v) => v !== worldSize);
    if (bad >= 0) throw new CollectiveStateError(`barrier: element ${bad} is ${tokens[bad]}, expected ${worldSize}`);
  }

  /**
   * Forget the membership (fail pending operations): the worker re-registered with a restarted
   * coordinator, whose generations start afresh, so the next {@link reconfigure} may carry any
   * generation. Connections to the old neighbour are closed, so nothing of the old incarnation
   * can arrive on them.
   */
  resetMembership(error: Error): void {
    this.assertOpen();
    for (const channel of [...this.channels]) channel.failPending(error);
    this.queue.drop(() => error);
    this.link?.close();
    this.link = undefined;
    this.membershipValue = undefined;
  }

  /**
   * Fail every pending operation with `error` (the coordinator announced a lost peer); the node
   * stays usable and the next reconfiguration starts a fresh generation.
   */
  abortPending(error: Error): void {
    for (const channel of [...this.channels]) channel.failPending(error);
    this.queue.drop(() => error);
  }

  /**
   * Stop: fail pending operations, let in-flight calls finish for up to `graceMs`, then cancel
   * them and stop the server. Idempotent.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new CollectiveStateError('collective node closed');
    for (const channel of [...this.channels]) channel.failPending(error);
    this.queue.drop(() => error);
    this.outbox.close(error);
    await this.server.close(options.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
    this.channels.clear();
    this.link?.close();
    this.pool.clear();
    this.logger.info({ address: this.address }, 'collective: closed');
  }

  // --- RingTransport ---

  private position(): RingPosition {
    this.assertOpen();
    const m = this.membershipValue;
    if (m === undefined) throw new CollectiveStateError('collective node has no membership yet (call reconfigure first)');
    const left = (m.rank - 1 + m.worldSize) % m.worldSize;
    const right = (m.rank + 1) % m.worldSize;
    return { rank: m.rank, worldSize: m.worldSize, generation: m.generation, leftRank: left, leftAddress: m.peers[left]!, rightRank: right, rightAddress: m.peers[right]! };
  }

  private reserveSequences(count: number): number {
    const first = this.nextSequence;
    this.nextSequence += count;
    return first;
  }

  private openChannel(init: RingOperationInit, handler: OperationHandler): OperationChannel {
    this.assertOpen();
    const m = this.membershipValue;
    if (m === undefined || this.link === undefined) throw new CollectiveStateError('collective node has no membership yet', init.operation);
    if (init.operation.generation !== m.generation) throw new GenerationChangedError(init.operation, m.generation);
    const channel = new OperationChannel({
      operation: init.operation,
      position: init.position,
      link: this.link,
      outbox: this.outbox,
      lanes: init.lanes,
      dtype: init.dtype,
      totalLength: init.totalLength,
      timeoutMs: init.timeoutMs,
      logger: this.logger,
      onClosed: (closed) => this.channels.delete(closed),
    });
    channel.setHandler(handler);
    this.channels.add(channel);
    return channel;
  }

  private assertOpen(): void {
    if (this.closed) throw new CollectiveStateError('collective node is closed');
  }
}
