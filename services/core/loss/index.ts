/** The encouraging-loss library: options, presets, schedules and the loss itself. */
export * from './options.js';
export * from './presets.js';
export { scheduleFactor } from './schedule.js';
export { bonusValues, LOG_BONUS_EPS } from './bonus.js';
export * from './encouraging-loss.js';
