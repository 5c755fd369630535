/**
 * The `encourage.v1.Collective` service on the wire: the method definition from
 * collective.proto (loaded with the project's proto loader), with the TensorChunk response
 * (de)serializers replaced by the copy-avoiding codec of chunk-codec.ts. The PullRequest keeps
 * the protobufjs (de)serializers: it is a few dozen bytes once per lane; bytes that do not
 * decode are rejected with INVALID_ARGUMENT (a request larger than MAX_REQUEST_MESSAGE_BYTES
 * never gets here: grpc-js answers RESOURCE_EXHAUSTED).
 */
import type { MethodDefinition, Server, ServerWritableStream, ServiceDefinition } from '@grpc/grpc-js';
import { loadCollectiveProto } from '../../core/proto/proto-loader.js';
import type { PullRequest, PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import { decodeChunk, type DecodedChunk } from './chunk-codec.js';
import type { Outbox } from './outbox.js';
import { ChunkRejectedError } from './collective-errors.js';
import { failCall, OutgoingLane } from './outgoing-lane.js';

/**
 * Server-side response type is an already serialized TensorChunk (built by `allocateChunk`),
 * so serialization is the identity and the sender decides every byte.
 */
export type PullChunksMethod = MethodDefinition<PullRequest, Buffer> & {
  readonly requestDeserialize: (bytes: Buffer) => PullRequest__Output | MalformedPullRequest;
  readonly responseDeserialize: (bytes: Buffer) => DecodedChunk;
};

/** What the server reads from request bytes that do not decode as a PullRequest. */
export interface MalformedPullRequest {
  /** The decoder's complaint. */
  readonly malformed: string;
  readonly bytes: number;
}

export interface CollectiveWire {
  readonly pullChunks: PullChunksMethod;
  readonly service: ServiceDefinition;
}

let cached: CollectiveWire | undefined;

/** The service definition (parsed from collective.proto once per process). */
export function collectiveWire(): CollectiveWire {
  if (cached !== undefined) return cached;
  const base = loadCollectiveProto().encourage.v1.Collective.service.PullChunks;
  const pullChunks = {
    path: base.path,
    originalName: base.originalName ?? 'pullChunks',
    requestStream: false,
    responseStream: true,
    requestSerialize: (value: PullRequest): Buffer => base.requestSerialize(value),
    requestDeserialize: (bytes: Buffer): PullRequest__Output | MalformedPullRequest => {
      try {
        return base.requestDeserialize(bytes);
      } catch (err) {
        // grpc-js would answer INTERNAL ("Error deserializing request"), as for a bug of ours; the
        // handler rejects the sender's garbage with INVALID_ARGUMENT and says what was wrong.
        return { malformed: (err as Error).message, bytes: bytes.length };
      }
    },
    responseSerialize: (message: Buffer): Buffer => message,
    responseDeserialize: (bytes: Buffer): DecodedChunk => decodeChunk(bytes),
  } as unknown as PullChunksMethod;
  cached = { pullChunks, service: { PullChunks: pullChunks } as ServiceDefinition };
  return cached;
}

/** Serve `Collective` on `server`, routing every pull request through `outbox`. */
export function addCollectiveService(server: Server, outbox: Outbox): void {
  server.addService(collectiveWire().service, {
    PullChunks: (call: ServerWritableStream<PullRequest__Output | MalformedPullRequest, Buffer>) => {
      const request = call.request;
      if ('malformed' in request) {
        failCall(call, new ChunkRejectedError('encoding', 'a PullRequest message', `${request.bytes} bytes that do not decode (${request.malformed})`, undefined, undefined, 'pull request'));
        return;
      }
      outbox.route(new OutgoingLane(call as ServerWritableStream<PullRequest__Output, Buffer>));
    },
  });
}
