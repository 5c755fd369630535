/**
 * `PullRequest` (collective.proto) in this package's terms: the proto's enum names mapped to the
 * names used everywhere else, 64-bit fields as numbers.
 */
import type { PullRequest, PullRequest__Output } from '../../core/proto/generated/encourage/v1/PullRequest.js';
import type { WireDtype } from './chunk-codec.js';
import type { CollectiveKindName, OperationRef } from './collective-errors.js';

/** A pull request in this package's terms (the proto's enums mapped to names). */
export interface PullSpec extends OperationRef {
  readonly receiverRank: number;
  readonly lane: number;
  readonly lanes: number;
  /** undefined when the request named a dtype this version does not know. */
  readonly dtype: WireDtype | undefined;
  readonly totalLength: number;
}

const KIND_TO_PROTO = {
  'all-reduce': 'COLLECTIVE_KIND_ALL_REDUCE',
  broadcast: 'COLLECTIVE_KIND_BROADCAST',
  barrier: 'COLLECTIVE_KIND_BARRIER',
} as const satisfies Record<CollectiveKindName, string>;
const DTYPE_TO_PROTO = { float32: 'WIRE_DTYPE_FLOAT32', float16: 'WIRE_DTYPE_FLOAT16' } as const satisfies Record<WireDtype, string>;

/** Build the proto message of a pull request. */
export function toPullRequest(spec: PullSpec): PullRequest {
  return {
    generation: spec.generation,
    sequence: spec.sequence,
    step: spec.step,
    kind: KIND_TO_PROTO[spec.kind],
    receiverRank: spec.receiverRank,
    lane: spec.lane,
    lanes: spec.lanes,
    dtype: spec.dtype === undefined ? 'WIRE_DTYPE_UNSPECIFIED' : DTYPE_TO_PROTO[spec.dtype],
    totalLength: spec.totalLength,
  };
}

/** Read a decoded pull request (unknown kinds read as all-reduce, and then fail validation on `kind`). */
export function fromPullRequest(request: PullRequest__Output): PullSpec & { readonly kindKnown: boolean } {
  const kind = (Object.entries(KIND_TO_PROTO).find(([, proto]) => proto === request.kind)?.[0] ?? undefined) as CollectiveKindName | undefined;
  const dtype = (Object.entries(DTYPE_TO_PROTO).find(([, proto]) => proto === request.dtype)?.[0] ?? undefined) as WireDtype | undefined;
  return {
    generation: Number(request.generation),
    sequence: Number(request.sequence),
    step: Number(request.step),
    kind: kind ?? 'all-reduce',
    kindKnown: kind !== undefined,
    receiverRank: request.receiverRank,
    lane: request.lane,
    lanes: request.lanes,
    dtype,
    totalLength: Number(request.totalLength),
  };
}
