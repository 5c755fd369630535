/**
 * Named loss settings. `el` is the authors' recommended setting for image classification
 * (log bonus made conservative past p = 0.75, ρ = 1; paper §3.2 and the repository's scripts).
 */
import type { LossOptions } from './options.js';

export const PRESET_NAMES = [
  'ce',
  'el',
  'el-full',
  'el-power',
  'el-cosine',
  'ce-ls',
  'el-ls',
  'mse',
  'mae',
  'mse-mirror',
  'mae-mirror',
  'bce',
  'bce-el',
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Overrides on top of the defaults (CE base, no bonus, ρ = 1, γ = 1, LE = 1). */
export const PRESETS: Readonly<Record<PresetName, Partial<LossOptions>>> = {
  ce: {},
  el: { bonus: 'log', logEnd: 0.75, rho: 1 },
  'el-full': { bonus: 'log', logEnd: 1, rho: 1 },
  'el-power': { bonus: 'power', gamma: 2, rho: 1 },
  'el-cosine': { bonus: 'cosine', rho: 1 },
  'ce-ls': { labelSmoothing: 0.1 },
  'el-ls': { bonus: 'log', logEnd: 0.75, rho: 1, labelSmoothing: 0.1 },
  mse: { base: 'mse' },
  mae: { base: 'mae' },
  // The mirror of y(1−q)² + (1−y)q² is y·q² + (1−y)(1−q)²: γ = 2 for MSE, γ = 1 for MAE.
  'mse-mirror': { base: 'mse', bonus: 'power', gamma: 2, rho: 1 },
  'mae-mirror': { base: 'mae', bonus: 'power', gamma: 1, rho: 1 },
  bce: { base: 'bce_sigmoid' },
  'bce-el': { base: 'bce_sigmoid', bonus: 'log', logEnd: 0.75, rho: 1 },
};
