// Original file: encourage/v1/collective.proto

export const CollectiveKind = {
  COLLECTIVE_KIND_UNSPECIFIED: 'COLLECTIVE_KIND_UNSPECIFIED',
  COLLECTIVE_KIND_ALL_REDUCE: 'COLLECTIVE_KIND_ALL_REDUCE',
  COLLECTIVE_KIND_BROADCAST: 'COLLECTIVE_KIND_BROADCAST',
  COLLECTIVE_KIND_BARRIER: 'COLLECTIVE_KIND_BARRIER',
} as const;

export type CollectiveKind =
  | 'COLLECTIVE_KIND_UNSPECIFIED'
  | 0
  | 'COLLECTIVE_KIND_ALL_REDUCE'
  | 1
  | 'COLLECTIVE_KIND_BROADCAST'
  | 2
  | 'COLLECTIVE_KIND_BARRIER'
  | 3

export type CollectiveKind__Output = typeof CollectiveKind[keyof typeof CollectiveKind]
