// Original file: encourage/v1/collective.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ChunkStreamSummary as _encourage_v1_ChunkStreamSummary, ChunkStreamSummary__Output as _encourage_v1_ChunkStreamSummary__Output } from '../../encourage/v1/ChunkStreamSummary.js';
import type { TensorChunk as _encourage_v1_TensorChunk, TensorChunk__Output as _encourage_v1_TensorChunk__Output } from '../../encourage/v1/TensorChunk.js';

export interface CollectiveClient extends grpc.Client {
  /**
   * One client stream per (operation, lane): the sender (left neighbour) streams the chunks of one
   * collective operation on this lane, in the order it produces them; the receiver validates each
   * chunk against its own view of the operation and replies once the sender half-closes. A chunk
   * that does not match (stale generation, other step or sequence, wrong size, dtype, offset or
   * checksum) ends the stream with FAILED_PRECONDITION (generation) or INVALID_ARGUMENT (others).
   * Callers always set a deadline.
   */
  StreamChunks(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  StreamChunks(metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  StreamChunks(options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  StreamChunks(callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  /**
   * One client stream per (operation, lane): the sender (left neighbour) streams the chunks of one
   * collective operation on this lane, in the order it produces them; the receiver validates each
   * chunk against its own view of the operation and replies once the sender half-closes. A chunk
   * that does not match (stale generation, other step or sequence, wrong size, dtype, offset or
   * checksum) ends the stream with FAILED_PRECONDITION (generation) or INVALID_ARGUMENT (others).
   * Callers always set a deadline.
   */
  streamChunks(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  streamChunks(metadata: grpc.Metadata, callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  streamChunks(options: grpc.CallOptions, callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  streamChunks(callback: grpc.requestCallback<_encourage_v1_ChunkStreamSummary__Output>): grpc.ClientWritableStream<_encourage_v1_TensorChunk>;
  
}

export interface CollectiveHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One client stream per (operation, lane): the sender (left neighbour) streams the chunks of one
   * collective operation on this lane, in the order it produces them; the receiver validates each
   * chunk against its own view of the operation and replies once the sender half-closes. A chunk
   * that does not match (stale generation, other step or sequence, wrong size, dtype, offset or
   * checksum) ends the stream with FAILED_PRECONDITION (generation) or INVALID_ARGUMENT (others).
   * Callers always set a deadline.
   */
  StreamChunks: grpc.handleClientStreamingCall<_encourage_v1_TensorChunk__Output, _encourage_v1_ChunkStreamSummary>;
  
}

export interface CollectiveDefinition extends grpc.ServiceDefinition {
  StreamChunks: MethodDefinition<_encourage_v1_TensorChunk, _encourage_v1_ChunkStreamSummary, _encourage_v1_TensorChunk__Output, _encourage_v1_ChunkStreamSummary__Output>
}
