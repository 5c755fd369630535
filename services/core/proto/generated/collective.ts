import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { ChunkStreamSummary as _encourage_v1_ChunkStreamSummary, ChunkStreamSummary__Output as _encourage_v1_ChunkStreamSummary__Output } from './encourage/v1/ChunkStreamSummary.js';
import type { CollectiveClient as _encourage_v1_CollectiveClient, CollectiveDefinition as _encourage_v1_CollectiveDefinition } from './encourage/v1/Collective.js';
import type { TensorChunk as _encourage_v1_TensorChunk, TensorChunk__Output as _encourage_v1_TensorChunk__Output } from './encourage/v1/TensorChunk.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  encourage: {
    v1: {
      ChunkStreamSummary: MessageTypeDefinition<_encourage_v1_ChunkStreamSummary, _encourage_v1_ChunkStreamSummary__Output>
      Collective: SubtypeConstructor<typeof grpc.Client, _encourage_v1_CollectiveClient> & { service: _encourage_v1_CollectiveDefinition }
      CollectiveKind: EnumTypeDefinition
      CollectivePhase: EnumTypeDefinition
      TensorChunk: MessageTypeDefinition<_encourage_v1_TensorChunk, _encourage_v1_TensorChunk__Output>
      WireDtype: EnumTypeDefinition
    }
  }
}

