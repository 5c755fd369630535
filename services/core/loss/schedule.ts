/**
 * The bonus schedules of `el.py` (`el_schedule`): a factor r(epoch) that multiplies ρ or LE so
 * that the bonus can be phased in over training.
 */
import type { ScheduleOptions } from './options.js';

/**
 * r for the given epoch, with t = epoch / maxEpoch. Like the authors' code, t is not clamped:
 * a linear schedule keeps growing past maxEpoch.
 */
export function scheduleFactor(schedule: ScheduleOptions, epoch: number): number {
  const t = epoch / schedule.maxEpoch;
  switch (schedule.kind) {
    case 'linear':
      return t;
    case 'exp':
      return schedule.expRatio > 0 ? Math.exp((t - 1) * schedule.expRatio) : 1 - Math.exp(t * schedule.expRatio);
    case 'cos':
      return (Math.cos(Math.PI * (1 + t)) + 1) / 2;
  }
}
