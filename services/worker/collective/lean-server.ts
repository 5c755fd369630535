/**
 * The collective's gRPC server, written on `node:http2` directly instead of grpc-js: it serves
 * exactly one method, `/encourage.v1.Collective/PullChunks`, and speaks the gRPC wire protocol
 * (PROTOCOL-HTTP2.md) for it, so any gRPC client — grpc-js in the tests and the rogue-client
 * checks — can call it.
 *
 * Why not grpc-js: its server copies every outgoing message into a freshly allocated frame and
 * pins a server's receive window; on the 16 MB all-reduce those copies and the garbage they make
 * were 10.5% and 12% of a rank's CPU (docs/performance.md). Here the chunk codec builds each
 * length-prefixed frame once in a pooled buffer and the stream writes it as it is.
 *
 * Request handling follows the spec's order of checks: `:method` POST (else HTTP 405), a gRPC
 * `content-type` (else HTTP 415, "so that other HTTP/2 clients do not read a gRPC error as
 * success"), a known path (else UNIMPLEMENTED), identity encoding (else UNIMPLEMENTED), a
 * well-formed `grpc-timeout` (else INTERNAL, as grpc-js), then exactly one request message no
 * larger than the limit (RESOURCE_EXHAUSTED before buffering it; none or two: UNIMPLEMENTED, as
 * grpc-js). Transport security is Node's TLS with the run's certificates; under mutual TLS a
 * client without a certificate of the run's CA never completes the handshake.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { status as Status } from '@grpc/grpc-js';
import type { Logger } from '../../core/logging.js';
import type { TlsMaterial } from '../../core/tls.js';
import { http2SessionSettings, MAX_CHUNK_MESSAGE_BYTES, MAX_REQUEST_MESSAGE_BYTES, SESSION_MEMORY_MB } from './collective-options.js';
import { collectiveWire, type MalformedPullRequest } from './collective-service.js';
import { MessageReader } from './grpc-framing.js';
import { GRPC_HEADER, GrpcTimeoutFormatError, isGrpcContentType, parseGrpcTimeout } from './grpc-protocol.js';
import type { PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import { respondTrailersOnly, ServerPullCall } from './server-pull-call.js';

/** What the server hands the collective for every well-formed call. */
export type PullHandler = (call: ServerPullCall, request: PullRequest__Output | MalformedPullRequest) => void;

export interface LeanServerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMaterial | null;
  readonly logger: Logger;
  readonly onPull: PullHandler;
}

export class LeanCollectiveServer {
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  private constructor(
    private readonly server: http2.Http2Server | http2.Http2SecureServer,
    logger: Logger,
  ) {
    server.on('session', (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      // A broken connection is the client's problem; its calls see their streams close.
      session.on('error', (err: Error) => logger.debug({ err: err.message }, 'collective: http2 session error'));
    });
    server.on('sessionError', (err: Error) => logger.debug({ err: err.message }, 'collective: http2 session error'));
  }

  /**
   * Listen on host:port (0: an ephemeral port).
   *
   * @throws the listen error (e.g. EADDRINUSE) as Node reports it.
   */
  static async start(options: LeanServerOptions): Promise<LeanCollectiveServer> {
    const common = { settings: http2SessionSettings(), maxSessionMemory: SESSION_MEMORY_MB };
    const tls = options.tls;
    const server =
      tls === null
        ? http2.createServer(common)
        : http2.createSecureServer({
            ...common,
            key: tls.pem.key,
            cert: tls.pem.cert,
            ca: tls.pem.ca,
            requestCert: tls.settings.mutual,
            rejectUnauthorized: tls.settings.mutual,
            allowHTTP1: false,
          });
    const lean = new LeanCollectiveServer(server, options.logger);
    server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => handleStream(stream, headers, options));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: Error) => options.logger.warn({ err: err.message }, 'collective: server error'));
    return lean;
  }

  /** The bound port (the ephemeral one when 0 was requested). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * Stop accepting connections, let open calls finish for up to `graceMs` (GOAWAY: no new
   * streams), then tear down whatever is left.
   */
  async close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.sessions) session.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}

function handleStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, options: LeanServerOptions): void {
  // Errors of a stream also close it; the call notices through 'close'.
  stream.on('error', (err: Error) => options.logger.debug({ err: err.message }, 'collective: http2 stream error'));
  if (headers[':method'] !== 'POST') {
    stream.respond({ ':status': 405, allow: 'POST' }, { endStream: true });
    return;
  }
  if (!isGrpcContentType(headers[GRPC_HEADER.contentType])) {
    stream.respond({ ':status': 415 }, { endStream: true });
    return;
  }
  const path = headers[':path'];
  if (path !== collectiveWire().pullChunks.path) {
    respondTrailersOnly(stream, Status.UNIMPLEMENTED, `The server does not implement the method ${String(path)}`);
    return;
  }
  const encoding = headers[GRPC_HEADER.encoding];
  if (encoding !== undefined && encoding !== 'identity') {
    respondTrailersOnly(stream, Status.UNIMPLEMENTED, `Unsupported ${GRPC_HEADER.encoding} ${JSON.stringify(encoding)}; this server accepts identity`, { [GRPC_HEADER.acceptEncoding]: 'identity' });
    return;
  }
  let timeoutMs: number | undefined;
  try {
    timeoutMs = parseGrpcTimeout(headers[GRPC_HEADER.timeout]);
  } catch (error) {
    respondTrailersOnly(stream, Status.INTERNAL, (error as GrpcTimeoutFormatError).message);
    return;
  }
  const call = new ServerPullCall(stream, timeoutMs, MAX_CHUNK_MESSAGE_BYTES);
  let request: Buffer | undefined;
  let rejected = false;
  const reader = new MessageReader({
    maxMessageBytes: MAX_REQUEST_MESSAGE_BYTES,
    onMessage: (message) => {
      if (request !== undefined) {
        rejected = true;
        call.fail(Status.UNIMPLEMENTED, `Received a second request message for server streaming method ${String(path)}`);
        return;
      }
      // The reader reuses nothing without a pool, but copy anyway: the request outlives the callback.
      request = Buffer.from(message);
    },
    onProblem: (problem) => {
      rejected = true;
      if (problem.kind === 'too-large') call.fail(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${problem.bytes} vs ${problem.limit})`);
      else call.fail(Status.INTERNAL, 'Received a compressed message but no grpc-encoding was negotiated');
    },
  });
  stream.on('data', (data: Buffer) => {
    if (!rejected) reader.push(data);
  });
  stream.on('end', () => {
    if (rejected) return;
    if (request === undefined || reader.partial) {
      call.fail(Status.UNIMPLEMENTED, `Received no request message for server streaming method ${String(path)}`);
      return;
    }
    const decode = collectiveWire().pullChunks.requestDeserialize as (bytes: Buffer) => PullRequest__Output | MalformedPullRequest;
    options.onPull(call, decode(request));
  });
}
