/**
 * The client side towards the *left* ring neighbour, whose chunks this rank pulls: a fixed set
 * of channels (HTTP/2 connections), created on first use, over which operations open their lane
 * calls.
 *
 * Several connections instead of one multiplexed connection: grpc-js serves each connection with
 * one HTTP/2 session, whose frames all go through one socket and one connection-level
 * flow-control window. Spreading lanes over connections is what NCCL does with
 * `NCCL_NSOCKS_PERTHREAD` × `NCCL_SOCKET_NTHREADS` and Gloo with several pairs per peer; see
 * docs/performance.md for what it buys on loopback.
 */
import { Client, Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import { channelCredentials, type TlsMaterial } from '../../core/tls.js';
import type { DecodedChunk } from './chunk-codec.js';
import { clientChannelOptions } from './collective-options.js';
import { collectiveWire } from './collective-service.js';
import { toPullRequest, type PullSpec } from './pull-request.js';

export class PeerLink {
  private readonly clients: Array<Client | undefined>;
  private closed = false;

  constructor(
    /** Rank of the neighbour (for error messages). */
    readonly rank: number,
    /** host:port of its Collective service. */
    readonly address: string,
    /** Number of distinct connections lanes are spread over. */
    readonly connections: number,
    /** TLS towards the neighbour (null: plaintext). */
    private readonly tls: TlsMaterial | null = null,
  ) {
    this.clients = new Array<Client | undefined>(connections).fill(undefined);
  }

  /**
   * Open the pull call of one lane. `waitForReady` lets a call made while the neighbour is still
   * starting wait for it (up to the deadline) instead of failing at once with UNAVAILABLE.
   */
  openPull(spec: PullSpec, deadline: Date): ClientReadableStream<DecodedChunk> {
    const method = collectiveWire().pullChunks;
    return this.client(spec.lane % this.connections).makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      toPullRequest(spec),
      new Metadata({ waitForReady: true }),
      { deadline },
    );
  }

  /** Close all channels. */
  close(): void {
    this.closed = true;
    for (const client of this.clients) client?.close();
    this.clients.fill(undefined);
  }

  private client(index: number): Client {
    if (this.closed) throw new Error(`link to rank ${this.rank} (${this.address}) is closed`);
    let client = this.clients[index];
    if (client === undefined) {
      const { credentials, options } = channelCredentials(this.tls);
      client = new Client(this.address, credentials, { ...clientChannelOptions(index), ...options });
      this.clients[index] = client;
    }
    return client;
  }
}
