// Original file: encourage/v1/collective.proto

import type { CollectiveKind as _encourage_v1_CollectiveKind, CollectiveKind__Output as _encourage_v1_CollectiveKind__Output } from '../../encourage/v1/CollectiveKind.js';
import type { WireDtype as _encourage_v1_WireDtype, WireDtype__Output as _encourage_v1_WireDtype__Output } from '../../encourage/v1/WireDtype.js';
import type { Long } from '@grpc/proto-loader';

/**
 * The receiver's view of the operation it wants the chunks of; the sender checks every field.
 */
export interface PullRequest {
  'generation'?: (number | string | Long);
  'sequence'?: (number | string | Long);
  'step'?: (number | string | Long);
  'kind'?: (_encourage_v1_CollectiveKind);
  'receiverRank'?: (number);
  /**
   * This call's lane, and how many lanes the receiver splits the operation over.
   */
  'lane'?: (number);
  'lanes'?: (number);
  'dtype'?: (_encourage_v1_WireDtype);
  /**
   * Element count of the whole operation.
   */
  'totalLength'?: (number | string | Long);
}

/**
 * The receiver's view of the operation it wants the chunks of; the sender checks every field.
 */
export interface PullRequest__Output {
  'generation': (number);
  'sequence': (number);
  'step': (number);
  'kind': (_encourage_v1_CollectiveKind__Output);
  'receiverRank': (number);
  /**
   * This call's lane, and how many lanes the receiver splits the operation over.
   */
  'lane': (number);
  'lanes': (number);
  'dtype': (_encourage_v1_WireDtype__Output);
  /**
   * Element count of the whole operation.
   */
  'totalLength': (number);
}
