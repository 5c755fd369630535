/**
 * Public surface of the models package: the `Model` protocol, the registry, state/flat helpers.
 */
export type { Model, ModelBuffer, Param, RunningStatsLayer } from './model.js';
export { ModelInputError, ModelStateError } from './model-errors.js';
export { MODEL_NAMES, createModel, isModelName } from './registry.js';
export type { CreateModelOptions, ModelName } from './registry.js';
export { countTrainableParams, exportState, importState, stateLayout } from './model-state.js';
export type { StateEntry } from './model-state.js';
export { flattenGrads, flattenParams, gradsInParamOrder, loadFlatParams, paramLayout, readConcatenated, unflattenGrads } from './flat-params.js';
export type { ParamSlot } from './flat-params.js';
