import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { status as Status } from '@grpc/grpc-js';
import {
  encodeGrpcTimeout,
  GrpcTimeoutFormatError,
  isGrpcContentType,
  parseGrpcTimeout,
  percentDecode,
  percentEncode,
  statusFromHttpStatus,
  statusFromRstCode,
  statusFromTrailers,
  trailersFor,
} from './grpc-protocol.js';

test('grpc-timeout: at most 8 digits in the finest unit that fits, never shorter than asked; parsing follows the grammar', () => {
  assert.equal(encodeGrpcTimeout(250), '250m');
  assert.equal(encodeGrpcTimeout(0.4), '1m', 'rounded up: the server must not give up first');
  assert.equal(encodeGrpcTimeout(-5), '0m');
  assert.equal(encodeGrpcTimeout(99_999_999), '99999999m');
  assert.equal(encodeGrpcTimeout(100_000_000), '100000S');
  assert.equal(encodeGrpcTimeout(1e15), '99999999H');
  for (const ms of [0, 1, 999, 30_000, 7_200_000, 123_456_789]) {
    const parsed = parseGrpcTimeout(encodeGrpcTimeout(ms))!;
    assert.ok(parsed >= ms && parsed - ms < Math.max(1, ms * 1e-5) + 1000, `${ms} → ${encodeGrpcTimeout(ms)} → ${parsed}`);
  }
  assert.equal(parseGrpcTimeout(undefined), undefined);
  assert.equal(parseGrpcTimeout('2H'), 7_200_000);
  assert.equal(parseGrpcTimeout('3M'), 180_000);
  assert.equal(parseGrpcTimeout('1500u'), 1.5);
  assert.equal(parseGrpcTimeout('2000000n'), 2);
  for (const bad of ['', '10', 'm', '123456789m', '-5m', '5x', '5 m', '1.5S']) {
    assert.throws(() => parseGrpcTimeout(bad), (e: unknown) => e instanceof GrpcTimeoutFormatError && e.value === bad && e.message.includes(JSON.stringify(bad)), bad);
  }
});

test('grpc-message: printable ASCII but % as is, everything else %-escaped UTF-8; decoding keeps malformed escapes', () => {
  assert.equal(percentEncode('plain text: ok (1/2)'), 'plain text: ok (1/2)');
  assert.equal(percentEncode('50% done'), '50%25 done');
  assert.equal(percentEncode('line\nbreak\ttab'), 'line%0Abreak%09tab');
  assert.equal(percentEncode('größe → ∞'), 'gr%C3%B6%C3%9Fe %E2%86%92 %E2%88%9E');
  for (const text of ['', 'a', '100%', 'größe → ∞\n', 'rejected chunk from rank 1: size is 1000, expected 1024']) {
    assert.equal(percentDecode(percentEncode(text)), text);
  }
  assert.equal(percentDecode('50%2'), '50%2');
  assert.equal(percentDecode('%zz and %4'), '%zz and %4');
});

test('content types, HTTP statuses and stream resets map as PROTOCOL-HTTP2.md and the status mapping say', () => {
  for (const ok of ['application/grpc', 'application/grpc+proto', 'application/grpc+json', 'application/grpc;charset=utf-8']) assert.ok(isGrpcContentType(ok), ok);
  for (const bad of [undefined, '', 'application/json', 'application/grpcx', 'text/plain']) assert.ok(!isGrpcContentType(bad), String(bad));
  assert.equal(statusFromHttpStatus(400), Status.INTERNAL);
  assert.equal(statusFromHttpStatus(401), Status.UNAUTHENTICATED);
  assert.equal(statusFromHttpStatus(403), Status.PERMISSION_DENIED);
  assert.equal(statusFromHttpStatus(404), Status.UNIMPLEMENTED);
  for (const unavailable of [429, 502, 503, 504]) assert.equal(statusFromHttpStatus(unavailable), Status.UNAVAILABLE);
  assert.equal(statusFromHttpStatus(415), Status.UNKNOWN);
  const c = http2.constants;
  assert.equal(statusFromRstCode(c.NGHTTP2_REFUSED_STREAM), Status.UNAVAILABLE);
  assert.equal(statusFromRstCode(c.NGHTTP2_CANCEL), Status.CANCELLED);
  assert.equal(statusFromRstCode(c.NGHTTP2_ENHANCE_YOUR_CALM), Status.RESOURCE_EXHAUSTED);
  assert.equal(statusFromRstCode(c.NGHTTP2_INADEQUATE_SECURITY), Status.PERMISSION_DENIED);
  for (const internal of [c.NGHTTP2_NO_ERROR, c.NGHTTP2_PROTOCOL_ERROR, c.NGHTTP2_INTERNAL_ERROR, c.NGHTTP2_FLOW_CONTROL_ERROR, c.NGHTTP2_FRAME_SIZE_ERROR]) {
    assert.equal(statusFromRstCode(internal), Status.INTERNAL);
  }
});

test('trailers round-trip: status, percent-encoded message and custom metadata; no status, no trailers', () => {
  const headers = trailersFor(Status.FAILED_PRECONDITION, 'generation is 0, expected 1 — 100%', { 'encourage-error': 'StaleGenerationError' });
  assert.equal(headers['grpc-status'], '9');
  assert.equal(headers['grpc-message'], 'generation is 0, expected 1 %E2%80%94 100%25');
  const read = statusFromTrailers({ ...(headers as http2.IncomingHttpHeaders), ':status': 200 as unknown as string, 'content-type': 'application/grpc' });
  assert.ok(read !== undefined);
  assert.equal(read.code, Status.FAILED_PRECONDITION);
  assert.equal(read.details, 'generation is 0, expected 1 — 100%');
  assert.deepEqual(read.metadata.get('encourage-error'), ['StaleGenerationError']);
  assert.deepEqual(read.metadata.getMap(), { 'encourage-error': 'StaleGenerationError' }, 'no protocol headers leak into the metadata');
  assert.deepEqual(trailersFor(Status.OK, ''), { 'grpc-status': '0' });
  assert.equal(statusFromTrailers({ 'content-type': 'application/grpc' }), undefined);
  const bogus = statusFromTrailers({ 'grpc-status': '99', 'grpc-message': 'x' });
  assert.equal(bogus?.code, Status.UNKNOWN);
  assert.match(bogus?.details ?? '', /grpc-status 99/);
});
