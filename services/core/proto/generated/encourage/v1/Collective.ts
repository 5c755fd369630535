// Original file: encourage/v1/collective.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PullRequest as _encourage_v1_PullRequest, PullRequest__Output as _encourage_v1_PullRequest__Output } from '../../encourage/v1/PullRequest.js';
import type { TensorChunk as _encourage_v1_TensorChunk, TensorChunk__Output as _encourage_v1_TensorChunk__Output } from '../../encourage/v1/TensorChunk.js';

export interface CollectiveClient extends grpc.Client {
  /**
   * One call per (operation, lane), from the receiver (right neighbour) to the sender (left
   * neighbour); the sender streams that lane's chunks of the operation (chunk c travels on lane
   * c mod lanes) in the order it produces them and ends with OK once it sent them all. The sender
   * answers a request that does not match its own view of the operation with FAILED_PRECONDITION
   * (stale generation) or INVALID_ARGUMENT; if its operation fails, it ends the stream with that
   * error (ABORTED, DEADLINE_EXCEEDED, ...) and the error's message as details, so the receiver
   * fails at once, naming the cause. Callers always set a deadline.
   */
  PullChunks(argument: _encourage_v1_PullRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_TensorChunk__Output>;
  PullChunks(argument: _encourage_v1_PullRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_TensorChunk__Output>;
  /**
   * One call per (operation, lane), from the receiver (right neighbour) to the sender (left
   * neighbour); the sender streams that lane's chunks of the operation (chunk c travels on lane
   * c mod lanes) in the order it produces them and ends with OK once it sent them all. The sender
   * answers a request that does not match its own view of the operation with FAILED_PRECONDITION
   * (stale generation) or INVALID_ARGUMENT; if its operation fails, it ends the stream with that
   * error (ABORTED, DEADLINE_EXCEEDED, ...) and the error's message as details, so the receiver
   * fails at once, naming the cause. Callers always set a deadline.
   */
  pullChunks(argument: _encourage_v1_PullRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_TensorChunk__Output>;
  pullChunks(argument: _encourage_v1_PullRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_encourage_v1_TensorChunk__Output>;
  
}

export interface CollectiveHandlers extends grpc.UntypedServiceImplementation {
  /**
   * One call per (operation, lane), from the receiver (right neighbour) to the sender (left
   * neighbour); the sender streams that lane's chunks of the operation (chunk c travels on lane
   * c mod lanes) in the order it produces them and ends with OK once it sent them all. The sender
   * answers a request that does not match its own view of the operation with FAILED_PRECONDITION
   * (stale generation) or INVALID_ARGUMENT; if its operation fails, it ends the stream with that
   * error (ABORTED, DEADLINE_EXCEEDED, ...) and the error's message as details, so the receiver
   * fails at once, naming the cause. Callers always set a deadline.
   */
  PullChunks: grpc.handleServerStreamingCall<_encourage_v1_PullRequest__Output, _encourage_v1_TensorChunk>;
  
}

export interface CollectiveDefinition extends grpc.ServiceDefinition {
  PullChunks: MethodDefinition<_encourage_v1_PullRequest, _encourage_v1_TensorChunk, _encourage_v1_PullRequest__Output, _encourage_v1_TensorChunk__Output>
}
