/**
 * The `encourage.v1.Collective` service on the wire: the method definition from
 * collective.proto (loaded with the project's proto loader), with the TensorChunk response
 * (de)serializers replaced by the copy-avoiding codec of chunk-codec.ts. The PullRequest keeps
 * the protobufjs (de)serializers: it is a few dozen bytes once per lane.
 */
import type { MethodDefinition, Server, ServerWritableStream, ServiceDefinition } from '@grpc/grpc-js';
import { loadCollectiveProto } from '../../core/proto/proto-loader.js';
import type { PullRequest, PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import { decodeChunk, type DecodedChunk } from './chunk-codec.js';
import type { Outbox } from './outbox.js';
import { OutgoingLane } from './outgoing-lane.js';

/**
 * Server-side response type is an already serialized TensorChunk (built by `allocateChunk`),
 * so serialization is the identity and the sender decides every byte.
 */
export type PullChunksMethod = MethodDefinition<PullRequest, Buffer> & {
  readonly requestDeserialize: (bytes: Buffer) => PullRequest__Output;
  readonly responseDeserialize: (bytes: Buffer) => DecodedChunk;
};

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
    requestDeserialize: (bytes: Buffer): PullRequest__Output => base.requestDeserialize(bytes),
    responseSerialize: (message: Buffer): Buffer => message,
    responseDeserialize: (bytes: Buffer): DecodedChunk => decodeChunk(bytes),
  } as unknown as PullChunksMethod;
  cached = { pullChunks, service: { PullChunks: pullChunks } as ServiceDefinition };
  return cached;
}

/** Serve `Collective` on `server`, routing every pull request through `outbox`. */
export function addCollectiveService(server: Server, outbox: Outbox): void {
  server.addService(collectiveWire().service, {
    PullChunks: (call: ServerWritableStream<PullRequest__Output, Buffer>) => {
      outbox.route(new OutgoingLane(call));
    },
  });
}
