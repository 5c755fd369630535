import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { CollectiveClient as _encourage_v1_CollectiveClient, CollectiveDefinition as _encourage_v1_CollectiveDefinition } from './encourage/v1/Collective.js';
import type { PullRequest as _encourage_v1_PullRequest, PullRequest__Output as _encourage_v1_PullRequest__Output } from './encourage/v1/PullRequest.js';
import type { TensorChunk as _encourage_v1_TensorChunk, TensorChunk__Output as _encourage_v1_TensorChunk__Output } from './encourage/v1/TensorChunk.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  encourage: {
    v1: {
      Collective: SubtypeConstructor<typeof grpc.Client, _encourage_v1_CollectiveClient> & { service: _encourage_v1_CollectiveDefinition }
      CollectiveKind: EnumTypeDefinition
      CollectivePhase: EnumTypeDefinition
      PullRequest: MessageTypeDefinition<_encourage_v1_PullRequest, _encourage_v1_PullRequest__Output>
      TensorChunk: MessageTypeDefinition<_encourage_v1_TensorChunk, _encourage_v1_TensorChunk__Output>
      WireDtype: EnumTypeDefinition
    }
  }
}

