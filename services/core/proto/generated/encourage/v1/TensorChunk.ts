// Original file: encourage/v1/collective.proto

import type { CollectiveKind as _encourage_v1_CollectiveKind, CollectiveKind__Output as _encourage_v1_CollectiveKind__Output } from '../../encourage/v1/CollectiveKind.js';
import type { CollectivePhase as _encourage_v1_CollectivePhase, CollectivePhase__Output as _encourage_v1_CollectivePhase__Output } from '../../encourage/v1/CollectivePhase.js';
import type { WireDtype as _encourage_v1_WireDtype, WireDtype__Output as _encourage_v1_WireDtype__Output } from '../../encourage/v1/WireDtype.js';
import type { Long } from '@grpc/proto-loader';

export interface TensorChunk {
  /**
   * Membership generation of the sender (coordinator.proto); a receiver rejects any other one.
   */
  'generation'?: (number | string | Long);
  /**
   * Collective operation counter within the generation. Every rank issues collectives in the
   * same order (as NCCL and Gloo require), so equal counters name the same operation.
   */
  'sequence'?: (number | string | Long);
  /**
   * Training step the caller attached to the operation (checked: ranks must agree).
   */
  'step'?: (number | string | Long);
  'kind'?: (_encourage_v1_CollectiveKind);
  'phase'?: (_encourage_v1_CollectivePhase);
  /**
   * Hop within the phase: 0 .. world_size-2.
   */
  'ringStep'?: (number);
  /**
   * Chunk index within the segment (all-reduce) or within the whole buffer (broadcast).
   */
  'chunkIndex'?: (number);
  'senderRank'?: (number);
  'dtype'?: (_encourage_v1_WireDtype);
  /**
   * First element of this chunk, counted in elements of the caller's whole (fused) buffer.
   */
  'offset'?: (number | string | Long);
  /**
   * Number of elements in `data`.
   */
  'length'?: (number);
  /**
   * CRC-32 (IEEE 802.3, as zlib computes it) of `data`, when the sender enabled checksums. fixed32
   * so that the sender can fill it in after writing `data` without moving any bytes.
   */
  'checksum'?: (number);
  /**
   * Element count of the whole operation: ranks must pass buffers of equal size.
   */
  'totalLength'?: (number | string | Long);
  /**
   * Filler so that `data` starts 4-byte aligned inside the received gRPC frame, letting the
   * receiver view it as a Float32Array without a copy. Ignored by readers.
   */
  'padding'?: (Buffer | Uint8Array | string);
  /**
   * `length` elements, little-endian, encoded as `dtype`.
   */
  'data'?: (Buffer | Uint8Array | string);
  '_checksum'?: "checksum";
}

export interface TensorChunk__Output {
  /**
   * Membership generation of the sender (coordinator.proto); a receiver rejects any other one.
   */
  'generation': (number);
  /**
   * Collective operation counter within the generation. Every rank issues collectives in the
   * same order (as NCCL and Gloo require), so equal counters name the same operation.
   */
  'sequence': (number);
  /**
   * Training step the caller attached to the operation (checked: ranks must agree).
   */
  'step': (number);
  'kind': (_encourage_v1_CollectiveKind__Output);
  'phase': (_encourage_v1_CollectivePhase__Output);
  /**
   * Hop within the phase: 0 .. world_size-2.
   */
  'ringStep': (number);
  /**
   * Chunk index within the segment (all-reduce) or within the whole buffer (broadcast).
   */
  'chunkIndex': (number);
  'senderRank': (number);
  'dtype': (_encourage_v1_WireDtype__Output);
  /**
   * First element of this chunk, counted in elements of the caller's whole (fused) buffer.
   */
  'offset': (number);
  /**
   * Number of elements in `data`.
   */
  'length': (number);
  /**
   * CRC-32 (IEEE 802.3, as zlib computes it) of `data`, when the sender enabled checksums. fixed32
   * so that the sender can fill it in after writing `data` without moving any bytes.
   */
  'checksum'?: (number);
  /**
   * Element count of the whole operation: ranks must pass buffers of equal size.
   */
  'totalLength': (number);
  /**
   * Filler so that `data` starts 4-byte aligned inside the received gRPC frame, letting the
   * receiver view it as a Float32Array without a copy. Ignored by readers.
   */
  'padding': (Buffer);
  /**
   * `length` elements, little-endian, encoded as `dtype`.
   */
  'data': (Buffer);
  '_checksum'?: "checksum";
}
