/**
 * The client side towards the *left* ring neighbour, whose chunks this rank pulls: a fixed set
 * of HTTP/2 connections (`node:http2` sessions), opened on first use and re-opened after a loss,
 * over which operations open their lane calls (lean-pull-call.ts).
 *
 * Several connections instead of one multiplexed connection: each session's frames go through one
 * socket and one connection-level flow-control window. Spreading lanes over connections is what
 * NCCL does with `NCCL_NSOCKS_PERTHREAD` × `NCCL_SOCKET_NTHREADS` and Gloo with several pairs per
 * peer; see docs/performance.md for what it buys on loopback.
 *
 * The receiving side owns the data's flow control: every session advertises the data plane's
 * window (collective-options.ts) in its SETTINGS and raises its connection window to match.
 */
import http2 from 'node:http2';
import { isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { TlsMaterial } from '../../core/tls.js';
import type { BufferPool } from './buffer-pool.js';
import { FLOW_CONTROL_WINDOW_BYTES, http2SessionSettings, MAX_CHUNK_MESSAGE_BYTES, SESSION_MEMORY_MB } from './collective-options.js';
import { collectiveWire } from './collective-service.js';
import { LeanPullCall, type SessionSource } from './lean-pull-call.js';
import { toPullRequest, type PullSpec } from './pull-request.js';

/** Split `host:port` / `[v6]:port`. */
function splitAddress(address: string): { host: string; port: string } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (match === null) throw new RangeError(`collective address ${JSON.stringify(address)} is not host:port`);
  return { host: match[1]!, port: match[2]! };
}

/** One connection to the neighbour, re-established on demand. */
class PeerConnection implements SessionSource {
  private session: http2.ClientHttp2Session | undefined;
  private pending: Promise<http2.ClientHttp2Session> | undefined;
  private closed = false;

  constructor(
    readonly address: string,
    private readonly tls: TlsMaterial | null,
  ) {}

  connect(): Promise<http2.ClientHttp2Session> {
    if (this.closed) return Promise.reject(new Error(`link to ${this.address} is closed`));
    const current = this.session;
    if (current !== undefined && !current.closed && !current.destroyed) return Promise.resolve(current);
    this.pending ??= this.dial().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private dial(): Promise<http2.ClientHttp2Session> {
    const { host, port } = splitAddress(this.address);
    const authority = `${this.tls === null ? 'http' : 'https'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
    const options: http2.SecureClientSessionOptions = { settings: http2SessionSettings(), maxSessionMemory: SESSION_MEMORY_MB };
    if (this.tls !== null) {
      const { pem, settings } = this.tls;
      // Peers are dialled by IP; with --tls-server-name every certificate of the run names that
      // one host instead (grpc's ssl_target_name_override).
      const expected = settings.serverName ?? host;
      Object.assign(options, {
        ca: pem.ca,
        cert: pem.cert,
        key: pem.key,
        ALPNProtocols: ['h2'],
        ...(isIP(expected) === 0 ? { servername: expected } : {}),
        checkServerIdentity: (_: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(expected, cert),
      });
    }
    return new Promise((resolve, reject) => {
      const session = http2.connect(authority, options);
      const fail = (error: Error): void => {
        session.destroy();
        reject(error);
      };
      session.once('error', fail);
      session.once('close', () => reject(new Error(`connection to ${this.address} closed before it was established`)));
      session.once('connect', () => {
        session.off('error', fail);
        // Later errors end the session; its calls see their streams close and report them.
        session.on('error', () => undefined);
        session.setLocalWindowSize(FLOW_CONTROL_WINDOW_BYTES);
        if (this.closed) {
          session.close();
          reject(new Error(`link to ${this.address} is closed`));
          return;
        }
        this.session = session;
        session.once('close', () => {
          if (this.session === session) this.session = undefined;
        });
        resolve(session);
      });
    });
  }
}

export class PeerLink {
  private readonly links: PeerConnection[];

  constructor(
    /** Rank of the neighbour (for error messages). */
    readonly rank: number,
    /** host:port of its Collective service. */
    readonly address: string,
    /** Number of distinct connections lanes are spread over. */
    readonly connections: number,
    /** TLS towards the neighbour (null: plaintext). */
    tls: TlsMaterial | null = null,
    /** Where received messages are reassembled (omitted: fresh buffers). */
    private readonly pool?: BufferPool,
  ) {
    this.links = Array.from({ length: connections }, () => new PeerConnection(address, tls));
  }

  /**
   * Open the pull call of one lane (connection `lane mod connections`). A call made while the
   * neighbour is still starting waits for it, up to the deadline.
   */
  openPull(spec: PullSpec, deadline: Date): LeanPullCall {
    const method = collectiveWire().pullChunks;
    return new LeanPullCall(this.links[spec.lane % this.links.length]!, {
      path: method.path,
      request: method.requestSerialize(toPullRequest(spec)),
      deadline,
      maxReceiveMessageBytes: MAX_CHUNK_MESSAGE_BYTES,
      ...(this.pool === undefined ? {} : { pool: this.pool }),
    });
  }

  /** Close all connections (calls in flight on them end with UNAVAILABLE). */
  close(): void {
    for (const link of this.links) link.close();
  }
}
