/**
 * The response side of one `PullChunks` call on a raw `node:http2` stream, as PROTOCOL-HTTP2.md
 * lays it out: "Response → (Response-Headers *Length-Prefixed-Message Trailers) / Trailers-Only".
 *
 * - Response headers (`:status 200`, `content-type: application/grpc+proto`) go out with the first
 *   message; a call that ends before sending any message answers Trailers-Only (one HEADERS frame
 *   with END_STREAM), as grpc-js does.
 * - Messages are frames built by the chunk codec: whole in a pooled buffer, or a small head plus
 *   the payload where it lies in the gradient buffer. They are written as they are (Node passes
 *   DATA frame payloads to the socket without copying), and `written` runs once the socket write
 *   completed, when the memory may be reused.
 * - Trailers carry `grpc-status`, the percent-encoded `grpc-message` and custom metadata.
 * - The server's deadline (`grpc-timeout`) ends the call with DEADLINE_EXCEEDED and counts as a
 *   cancellation for the operation; a client RST_STREAM (its cancel or its own deadline) is a
 *   cancellation.
 */
import http2 from 'node:http2';
import { status as Status } from '@grpc/grpc-js';
import { GRPC_CONTENT_TYPE, GRPC_HEADER, trailersFor } from './grpc-protocol.js';
import { GRPC_PREFIX_BYTES } from './grpc-framing.js';

/** What the serving side may do with a call (OutgoingLane, and tests). */
export interface PullResponder {
  /**
   * Queue one length-prefixed message, `head` followed by `body` (when the payload is sent from
   * the caller's buffer); `written` runs when the write completed or failed, after which neither
   * is referenced any more.
   */
  write(head: Buffer, body: Buffer | undefined, written: () => void): void;
  /** End with OK after the queued messages. */
  end(): void;
  /** End with `code`, `details` and custom trailers. */
  fail(code: Status, details: string, trailers?: Readonly<Record<string, string>>): void;
  /** `listener` runs once if the client cancels or the deadline passes before this side ended. */
  onCancelled(listener: () => void): void;
  /** Reset the stream now (RST_STREAM CANCEL): queued messages are dropped and their `written` callbacks run. */
  reset(): void;
}

/** The headers a response starts with (no compression: `grpc-encoding` is left out, meaning identity). */
function responseHeaders(): http2.OutgoingHttpHeaders {
  return { ':status': 200, [GRPC_HEADER.contentType]: GRPC_CONTENT_TYPE, [GRPC_HEADER.acceptEncoding]: 'identity' };
}

/** Answer a stream at once with a Trailers-Only response carrying `code` (no call object needed). */
export function respondTrailersOnly(stream: http2.ServerHttp2Stream, code: Status, details: string, trailers: Readonly<Record<string, string>> = {}): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond({ ...responseHeaders(), ...trailersFor(code, details, trailers) }, { endStream: true });
}

export class ServerPullCall implements PullResponder {
  private ended = false;
  private cancelled = false;
  private cancelListener: (() => void) | undefined;
  private finalTrailers: http2.OutgoingHttpHeaders | undefined;
  private readonly deadlineTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: http2.ServerHttp2Stream,
    /** Milliseconds from `grpc-timeout` (undefined: the client set none). */
    timeoutMs: number | undefined,
    /** Largest message this side sends (the counterpart of the client's receive limit). */
    private readonly maxSendMessageBytes: number,
  ) {
    stream.on('wantTrailers', () => stream.sendTrailers(this.finalTrailers ?? trailersFor(Status.OK, '')));
    // A stream that closes before this side ended it was reset by the client (cancel, deadline)
    // or lost with its connection.
    stream.on('close', () => this.markCancelled());
    if (timeoutMs !== undefined) {
      this.deadlineTimer = setTimeout(() => {
        this.fail(Status.DEADLINE_EXCEEDED, 'Deadline exceeded');
        this.markCancelled(true);
      }, timeoutMs);
      this.deadlineTimer.unref();
    }
  }

  /** Whether the call is still open for writing. */
  get isOpen(): boolean {
    return !this.ended && !this.cancelled && !this.stream.destroyed;
  }

  onCancelled(listener: () => void): void {
    this.cancelListener = listener;
    if (this.cancelled) listener();
  }

  write(head: Buffer, body: Buffer | undefined, written: () => void): void {
    if (!this.isOpen) {
      written();
      return;
    }
    const messageBytes = head.length + (body?.length ?? 0) - GRPC_PREFIX_BYTES;
    if (messageBytes > this.maxSendMessageBytes) {
      written();
      this.fail(Status.RESOURCE_EXHAUSTED, `Sent message larger than max (${messageBytes} vs. ${this.maxSendMessageBytes})`);
      return;
    }
    if (!this.stream.headersSent) this.stream.respond(responseHeaders(), { waitForTrailers: true });
    // No waiting for 'drain': an operation's data is bounded by its bucket, and HTTP/2 flow
    // control paces the socket; the write callback is the completion the channel waits for.
    // Head and body go down in one writev (cork), so the body is sent from where it lies.
    const done = (error?: Error | null): void => {
      if (error !== undefined && error !== null) this.markCancelled();
      written();
    };
    if (body === undefined) {
      this.stream.write(head, done);
      return;
    }
    this.stream.cork();
    this.stream.write(head);
    this.stream.write(body, done);
    this.stream.uncork();
  }

  end(): void {
    this.finish(Status.OK, '', {});
  }

  reset(): void {
    this.ended = true;
    clearTimeout(this.deadlineTimer);
    if (!this.stream.destroyed && !this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  fail(code: Status, details: string, trailers: Readonly<Record<string, string>> = {}): void {
    this.finish(code, details, trailers);
  }

  private finish(code: Status, details: string, trailers: Readonly<Record<string, string>>): void {
    if (this.ended || this.cancelled || this.stream.destroyed) return;
    this.ended = true;
    clearTimeout(this.deadlineTimer);
    if (!this.stream.headersSent) {
      respondTrailersOnly(this.stream, code, details, trailers);
      return;
    }
    // The trailers follow the queued messages: 'wantTrailers' fires with the last DATA frame.
    this.finalTrailers = trailersFor(code, details, trailers);
    this.stream.end();
  }

  private markCancelled(byDeadline = false): void {
    clearTimeout(this.deadlineTimer);
    if ((this.ended && !byDeadline) || this.cancelled) return;
    this.cancelled = true;
    this.cancelListener?.();
  }
}
