/**
 * The pieces of the gRPC-over-HTTP/2 wire protocol that the lean data path speaks itself
 * (grpc/grpc, doc/PROTOCOL-HTTP2.md, "gRPC over HTTP2"; doc/http-grpc-status-mapping.md): header
 * names, `grpc-timeout`, percent-encoded `grpc-message`, the status of a call that ended without
 * trailers, and turning trailers into a status plus custom metadata. Shared by the server
 * (lean-server.ts, server-pull-call.ts) and the client (lean-pull-call.ts), so both ends agree
 * with each other and with grpc-js, which the tests use on the other end.
 */
import http2 from 'node:http2';
import { Metadata, status as Status } from '@grpc/grpc-js';

/** Request/response header and trailer names of the protocol. */
export const GRPC_HEADER = {
  contentType: 'content-type',
  te: 'te',
  timeout: 'grpc-timeout',
  encoding: 'grpc-encoding',
  acceptEncoding: 'grpc-accept-encoding',
  status: 'grpc-status',
  message: 'grpc-message',
  userAgent: 'user-agent',
} as const;

/** "Content-Type → "content-type" "application/grpc" [("+proto" / "+json" / {custom})]" */
export const GRPC_CONTENT_TYPE = 'application/grpc+proto';
const GRPC_CONTENT_TYPE_PREFIX = 'application/grpc';

/** Whether a content-type names gRPC (any suffix: the spec allows +proto, +json and custom ones). */
export function isGrpcContentType(value: unknown): boolean {
  return typeof value === 'string' && (value === GRPC_CONTENT_TYPE_PREFIX || value.startsWith(`${GRPC_CONTENT_TYPE_PREFIX}+`) || value.startsWith(`${GRPC_CONTENT_TYPE_PREFIX};`));
}

/** Headers and pseudo-headers of HTTP/2 itself that are never custom metadata. */
const RESERVED_HEADERS = new Set<string>([
  ...Object.values(GRPC_HEADER),
  ':status',
  'grpc-status-details-bin',
  'date',
  'content-length',
]);

// --- grpc-timeout ---

/** "TimeoutUnit → Hour / Minute / Second / Millisecond / Microsecond / Nanosecond" */
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
/** "TimeoutValue → {positive integer as ASCII string of at most 8 digits}" */
const MAX_TIMEOUT_DIGITS_VALUE = 99_999_999;

/**
 * Encode a remaining time as a `grpc-timeout` value: the finest unit whose value fits in 8
 * digits, rounded up so that the server never gives up before the client.
 */
export function encodeGrpcTimeout(remainingMs: number): string {
  const ms = Math.max(0, remainingMs);
  for (const [unit, perUnitMs] of [['m', 1], ['S', 1000], ['M', 60_000], ['H', 3_600_000]] as const) {
    const value = Math.ceil(ms / perUnitMs);
    if (value <= MAX_TIMEOUT_DIGITS_VALUE) return `${value}${unit}`;
  }
  return `${MAX_TIMEOUT_DIGITS_VALUE}H`;
}

/**
 * Parse a `grpc-timeout` value into milliseconds; undefined when absent.
 *
 * @throws GrpcTimeoutFormatError for a value that is not 1–8 digits and a unit.
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const match = /^(\d{1,8})([HMSmun])$/.exec(text);
  if (match === null) throw new GrpcTimeoutFormatError(text);
  return Number(match[1]) * TIMEOUT_UNIT_MS[match[2]!]!;
}

/** A `grpc-timeout` header that does not follow the grammar (answered INTERNAL, as grpc-js does). */
export class GrpcTimeoutFormatError extends Error {
  override readonly name = 'GrpcTimeoutFormatError';
  constructor(readonly value: string) {
    super(`Invalid ${GRPC_HEADER.timeout} value ${JSON.stringify(value)} (expected 1-8 digits and one of H M S m u n)`);
  }
}

// --- grpc-message ---

/**
 * "Percent-Encoded → 1*(Percent-Byte-Unencoded / Percent-Byte-Encoded)": bytes 0x20–0x7E except
 * '%' travel as they are, every other byte of the UTF-8 encoding as %XX.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of {@link percentEncode}; malformed escapes are kept literally, as the spec asks of receivers. */
export function percentDecode(text: string): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      // Unencoded bytes are ASCII by the grammar; anything else is kept as its UTF-8.
      for (const b of Buffer.from(String.fromCharCode(c), 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

// --- status without trailers ---

/** doc/http-grpc-status-mapping.md: the status of a response whose HTTP status is not 200. */
export function statusFromHttpStatus(httpStatus: number): Status {
  switch (httpStatus) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

/** PROTOCOL-HTTP2.md, "Errors": the status of a stream reset before any trailers arrived. */
export function statusFromRstCode(code: number): Status {
  const c = http2.constants;
  switch (code) {
    case c.NGHTTP2_REFUSED_STREAM:
      return Status.UNAVAILABLE;
    case c.NGHTTP2_CANCEL:
      return Status.CANCELLED;
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return Status.RESOURCE_EXHAUSTED;
    case c.NGHTTP2_INADEQUATE_SECURITY:
      return Status.PERMISSION_DENIED;
    default:
      return Status.INTERNAL;
  }
}

// --- trailers ---

/** The end of a call as both ends see it. */
export interface CallStatus {
  readonly code: Status;
  readonly details: string;
  /** Custom metadata of the trailers (e.g. `encourage-error`). */
  readonly metadata: Metadata;
}

/**
 * Read "Trailers → Status [Status-Message] *Custom-Metadata" (or the same fields of a
 * Trailers-Only response); undefined when there is no `grpc-status`.
 */
export function statusFromTrailers(headers: http2.IncomingHttpHeaders): CallStatus | undefined {
  const raw = headers[GRPC_HEADER.status];
  if (raw === undefined) return undefined;
  const text = Array.isArray(raw) ? raw[0] : raw;
  const code = /^\d{1,2}$/.test(text ?? '') ? Number(text) : Status.UNKNOWN;
  const message = headers[GRPC_HEADER.message];
  const details = percentDecode(Array.isArray(message) ? message.join(',') : (message ?? ''));
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(':') || RESERVED_HEADERS.has(key) || value === undefined) continue;
    // Binary metadata (-bin) is base64 on the wire; the collective sends none but keeps any it gets.
    for (const v of Array.isArray(value) ? value : [value]) metadata.add(key, key.endsWith('-bin') ? Buffer.from(v, 'base64') : v);
  }
  return { code: code > Status.UNAUTHENTICATED ? Status.UNKNOWN : (code as Status), details: code > Status.UNAUTHENTICATED ? `grpc-status ${text}: ${details}` : details, metadata };
}

/** Headers of trailers (or a Trailers-Only response) carrying `code`, `details` and custom metadata. */
export function trailersFor(code: Status, details: string, custom: Readonly<Record<string, string>> = {}): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { [GRPC_HEADER.status]: String(code) };
  if (details !== '') out[GRPC_HEADER.message] = percentEncode(details);
  for (const [key, value] of Object.entries(custom)) out[key] = value;
  return out;
}
