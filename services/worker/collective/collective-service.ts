/**
 * The `encourage.v1.Collective` service on the wire: the method definition from
 * collective.proto (loaded with the project's proto loader), with the TensorChunk response
 * (de)serializers replaced by the copy-avoiding codec of chunk-codec.ts, and the handler that the
 * lean server (lean-server.ts) runs for every call. The definition is also what a stock grpc-js
 * client calls the service with (the tests and the rogue-client checks do). The PullRequest keeps
 * the protobufjs (de)serializers: it is a few dozen bytes once per lane; bytes that do not decode
 * are rejected with INVALID_ARGUMENT (a request larger than MAX_REQUEST_MESSAGE_BYTES never gets
 * here: the server answers RESOURCE_EXHAUSTED).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { loadCollectiveProto } from '../../core/proto/proto-loader.js';
import type { PullRequest, PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import { decodeChunk, type DecodedChunk } from './chunk-codec.js';
import type { Outbox } from './outbox.js';
import { ChunkRejectedError } from './collective-errors.js';
import { failResponder, OutgoingLane } from './outgoing-lane.js';
import type { PullHandler } from './lean-server.js';

/**
 * Response type as a grpc-js server would send it: an already serialized TensorChunk (built by
 * `allocateChunk`), so serialization is the identity and the sender decides every byte.
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

/** The handler of every PullChunks call: route it to the operation it asks for (or reject its garbage). */
export function pullHandler(outbox: Outbox): PullHandler {
  return (call, request) => {
    if ('malformed' in request) {
      failResponder(call, new ChunkRejectedError('encoding', 'a PullRequest message', `${request.bytes} bytes that do not decode (${request.malformed})`, undefined, undefined, 'pull request'));
      return;
    }
    outbox.route(new OutgoingLane(call, request));
  };
}
