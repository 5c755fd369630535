/**
 * Names shared by the coordinator and the workers: which models and backends exist. Kept in core
 * so that the coordinator can validate a run's configuration without importing worker code.
 */
export const MODEL_NAMES = ['resnet18', 'resnet20', 'resnet32', 'resnet56', 'cnn-small', 'cnn-nobn'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_REQUESTS = ['auto', ...BACKEND_NAMES] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];
