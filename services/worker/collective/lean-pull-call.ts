/**
 * The calling side of one `PullChunks` call on a raw `node:http2` session, speaking the gRPC wire
 * protocol (PROTOCOL-HTTP2.md) so that it works against any gRPC server — our lean server, or
 * grpc-js in the tests:
 *
 * - "Request → Request-Headers *Length-Prefixed-Message EOS": POST to the method's path with
 *   `content-type: application/grpc+proto`, `te: trailers`, the remaining deadline as
 *   `grpc-timeout`, then the one PullRequest message and END_STREAM.
 * - Response messages are reassembled into the node's pooled buffers (grpc-framing.ts), decoded in
 *   place and handed to 'data' listeners synchronously; the buffer is reused afterwards, so a
 *   listener must not keep the chunk (the ring operations copy or reduce it at once).
 * - The call ends with the trailers' status (or a Trailers-Only response's); a response that is
 *   not HTTP 200 maps by doc/http-grpc-status-mapping.md, a stream reset before any status by the
 *   spec's RST_STREAM table, a lost connection to UNAVAILABLE.
 * - Deadline: the client's own timer ends the call with DEADLINE_EXCEEDED and resets the stream
 *   (RST_STREAM CANCEL), which the server sees as a cancellation. `cancel()` does the same with
 *   CANCELLED.
 * - Like grpc-js's `waitForReady`, a call whose neighbour is not listening yet keeps trying to
 *   connect until its deadline instead of failing at once.
 *
 * Events, as grpc-js's ClientReadableStream: 'data' (DecodedChunk), then either 'end' (status OK)
 * or 'error' (a {@link PullCallError}, which carries `code`, `details` and trailer `metadata`).
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import { Metadata, status as Status } from '@grpc/grpc-js';
import type { BufferPool } from './buffer-pool.js';
import { decodeChunk } from './chunk-codec.js';
import { frameMessage, MessageReader } from './grpc-framing.js';
import { encodeGrpcTimeout, GRPC_CONTENT_TYPE, GRPC_HEADER, isGrpcContentType, statusFromHttpStatus, statusFromRstCode, statusFromTrailers, type CallStatus } from './grpc-protocol.js';

/** How a finished call failed, shaped like grpc-js's ServiceError so callers treat both alike. */
export class PullCallError extends Error {
  override readonly name = 'PullCallError';
  constructor(
    readonly code: Status,
    readonly details: string,
    readonly metadata: Metadata,
  ) {
    super(`${code} ${Status[code]}: ${details}`);
  }
}

/** A connection the call can use, or the reason none is available yet. */
export interface SessionSource {
  /** host:port, for messages. */
  readonly address: string;
  /** A connected session (one attempt; rejects with the connection error). */
  connect(): Promise<http2.ClientHttp2Session>;
}

export interface LeanPullCallOptions {
  readonly path: string;
  /** The serialized request message. */
  readonly request: Uint8Array;
  readonly deadline: Date;
  readonly maxReceiveMessageBytes: number;
  readonly pool?: BufferPool;
}

/** Pause between connection attempts while waiting for the server: grows ×1.6 from 100 ms to 1 s (grpc-js's reconnect backoff as this project configured it). */
const RECONNECT_BACKOFF_MIN_MS = 100;
const RECONNECT_BACKOFF_MAX_MS = 1000;
const USER_AGENT = 'encourage-collective (node:http2)';

export class LeanPullCall extends EventEmitter {
  private request: http2.ClientHttp2Stream | undefined;
  private settled = false;
  private trailerStatus: CallStatus | undefined;
  private transportError: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly reader: MessageReader;
  private readonly startedMs = Date.now();

  constructor(
    private readonly source: SessionSource,
    private readonly options: LeanPullCallOptions,
  ) {
    super();
    this.reader = new MessageReader({
      maxMessageBytes: options.maxReceiveMessageBytes,
      ...(options.pool === undefined ? {} : { pool: options.pool }),
      onMessage: (message) => {
        if (!this.settled) this.emit('data', decodeChunk(message));
      },
      onProblem: (problem) => {
        if (problem.kind === 'too-large') this.abandon(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${problem.bytes} vs ${problem.limit})`);
        else this.abandon(Status.INTERNAL, 'Received a compressed message but no grpc-encoding was negotiated');
      },
    });
    this.timer = setTimeout(() => this.abandon(Status.DEADLINE_EXCEEDED, `Deadline exceeded after ${Date.now() - this.startedMs} ms (${this.request === undefined ? `still connecting to ${source.address}${this.transportError === undefined ? '' : `, last error: ${this.transportError.message}`}` : 'call open'})`), Math.max(0, options.deadline.getTime() - Date.now()));
    void this.start();
  }

  /** End the call with CANCELLED and reset its stream (the server sees a cancellation). */
  cancel(): void {
    this.abandon(Status.CANCELLED, 'Cancelled on client');
  }

  private async start(): Promise<void> {
    let backoffMs = RECONNECT_BACKOFF_MIN_MS;
    let session: http2.ClientHttp2Session | undefined;
    while (session === undefined) {
      try {
        session = await this.source.connect();
      } catch (error) {
        this.transportError = error as Error;
        if (this.settled) return;
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(RECONNECT_BACKOFF_MAX_MS, backoffMs * 1.6);
        if (this.settled) return;
      }
    }
    if (this.settled) return;
    this.open(session);
  }

  private open(session: http2.ClientHttp2Session): void {
    let request: http2.ClientHttp2Stream;
    try {
      request = session.request(
        {
          ':method': 'POST',
          ':path': this.options.path,
          [GRPC_HEADER.contentType]: GRPC_CONTENT_TYPE,
          [GRPC_HEADER.te]: 'trailers',
          [GRPC_HEADER.timeout]: encodeGrpcTimeout(this.options.deadline.getTime() - Date.now()),
          [GRPC_HEADER.acceptEncoding]: 'identity',
          [GRPC_HEADER.userAgent]: USER_AGENT,
        },
        { endStream: false },
      );
    } catch (error) {
      // The session closed between connecting and this request (GOAWAY, reset).
      this.finish({ code: Status.UNAVAILABLE, details: `connection to ${this.source.address} unusable: ${(error as Error).message}`, metadata: new Metadata() });
      return;
    }
    this.request = request;
    request.on('response', (headers) => this.onResponse(headers));
    request.on('data', (data: Buffer) => this.reader.push(data));
    request.on('trailers', (trailers) => {
      this.trailerStatus = statusFromTrailers(trailers);
    });
    request.on('error', (error: Error) => {
      this.transportError = error;
    });
    request.on('close', () => this.onClose(request));
    request.end(frameMessage(this.options.request));
  }

  private onResponse(headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
    const httpStatus = Number(headers[':status']);
    if (httpStatus !== 200) {
      this.abandon(statusFromHttpStatus(httpStatus), `Received HTTP status code ${httpStatus}`);
      return;
    }
    // A Trailers-Only response carries the status in its only HEADERS frame.
    const trailersOnly = statusFromTrailers(headers);
    if (trailersOnly !== undefined) {
      this.trailerStatus = trailersOnly;
      return;
    }
    if (!isGrpcContentType(headers[GRPC_HEADER.contentType])) {
      this.abandon(Status.UNKNOWN, `Received unexpected content-type ${JSON.stringify(headers[GRPC_HEADER.contentType] ?? null)}`);
      return;
    }
    const encoding = headers[GRPC_HEADER.encoding];
    if (encoding !== undefined && encoding !== 'identity') this.abandon(Status.INTERNAL, `Received unsupported ${GRPC_HEADER.encoding} ${JSON.stringify(encoding)} (only identity was offered)`);
  }

  private onClose(request: http2.ClientHttp2Stream): void {
    if (this.settled) return;
    const status = this.trailerStatus;
    if (status !== undefined) {
      if (status.code === Status.OK && this.reader.partial) this.finish({ code: Status.INTERNAL, details: 'the response ended in the middle of a message', metadata: status.metadata });
      else this.finish(status);
      return;
    }
    const session = request.session;
    const lost = session === undefined || session.destroyed || session.closed;
    if (lost || request.rstCode === undefined) {
      const why = this.transportError?.message ?? 'closed without a status';
      this.finish({ code: Status.UNAVAILABLE, details: `connection to ${this.source.address} lost: ${why}`, metadata: new Metadata() });
      return;
    }
    this.finish({ code: statusFromRstCode(request.rstCode), details: `stream reset by the server with HTTP/2 error code ${request.rstCode}`, metadata: new Metadata() });
  }

  /** End the call from this side with `code`, resetting the stream if it is open. */
  private abandon(code: Status, details: string): void {
    if (this.settled) return;
    this.finish({ code, details, metadata: new Metadata() });
    const request = this.request;
    if (request !== undefined && !request.closed && !request.destroyed) request.close(http2.constants.NGHTTP2_CANCEL);
  }

  private finish(status: CallStatus): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reader.discard();
    if (status.code === Status.OK) this.emit('end');
    else if (this.listenerCount('error') > 0) this.emit('error', new PullCallError(status.code, status.details, status.metadata));
  }
}
