// Original file: encourage/v1/collective.proto

import type { Long } from '@grpc/proto-loader';

export interface ChunkStreamSummary {
  'chunksReceived'?: (number);
  'bytesReceived'?: (number | string | Long);
}

export interface ChunkStreamSummary__Output {
  'chunksReceived': (number);
  'bytesReceived': (number);
}
