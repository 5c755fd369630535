/**
 * Typed, validated options of the encouraging-loss family (Zhao et al., AAAI 2022,
 * arXiv 2110.06537), mirroring the knobs of the authors' `el.py` under camelCase names.
 * Unknown keys and out-of-range values are `ConfigError`s that name the offending key, so a
 * typo in an Experiment spec fails loudly instead of silently training plain cross-entropy.
 */
import { ConfigError } from '../errors.js';
import { PRESETS, PRESET_NAMES, type PresetName } from './presets.js';

export const BASE_LOSSES = ['ce', 'mse', 'mae', 'mse_sigmoid', 'mae_sigmoid', 'bce_sigmoid'] as const;
export type BaseLoss = (typeof BASE_LOSSES)[number];
export const BONUS_KINDS = ['none', 'log', 'power', 'cosine'] as const;
export type BonusKind = (typeof BONUS_KINDS)[number];
export const SCHEDULE_KINDS = ['linear', 'exp', 'cos'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
export const SCHEDULE_TARGETS = ['rho', 'logEnd'] as const;
export type ScheduleTarget = (typeof SCHEDULE_TARGETS)[number];

/** Bases whose bonus is the authors' "mirror" term rather than b(p_y). */
export const MIRROR_BASES: readonly BaseLoss[] = ['mse', 'mae', 'mse_sigmoid', 'mae_sigmoid'];

/** Default k of the exp schedule, as the authors' `el_exp_schedule_ratio`. */
export const DEFAULT_EXP_RATIO = 5;

export interface ScheduleOptions {
  readonly kind: ScheduleKind;
  readonly target: ScheduleTarget;
  /** T in t = epoch / T. */
  readonly maxEpoch: number;
  /** k of the exp schedule: r = exp((t−1)k) for k > 0, 1 − exp(tk) for k < 0. */
  readonly expRatio: number;
}

/** Fully resolved loss options: every field has a value. */
export interface LossOptions {
  readonly base: BaseLoss;
  readonly bonus: BonusKind;
  /** ρ, the bonus weight. */
  readonly rho: number;
  /** γ of the power bonus and of the mirror term. */
  readonly gamma: number;
  /** LE of the conservative log bonus; 1 = the plain log bonus. */
  readonly logEnd: number;
  /** s: the bonus starts at p = s (0 = everywhere). */
  readonly bonusStart: number;
  /** a: no bonus where p > a; null = off. */
  readonly bonusAbrupt: number | null;
  /** ε of label smoothing (CE base only). */
  readonly labelSmoothing: number;
  readonly schedule: ScheduleOptions | null;
  /** D: no bonus while epoch ≤ D (0 = off). */
  readonly deferStart: number;
  /** The preset these options started from, when any (for logs and metrics labels). */
  readonly preset: PresetName | null;
}

export const DEFAULT_LOSS_OPTIONS: LossOptions = {
  base: 'ce',
  bonus: 'none',
  rho: 1,
  gamma: 1,
  logEnd: 1,
  bonusStart: 0,
  bonusAbrupt: null,
  labelSmoothing: 0,
  schedule: null,
  deferStart: 0,
  preset: null,
};

const OPTION_KEYS = new Set<string>([...Object.keys(DEFAULT_LOSS_OPTIONS), 'preset']);
const SCHEDULE_KEYS = new Set<string>(['kind', 'target', 'maxEpoch', 'expRatio']);

/**
 * Parse loss options from a preset name (`"el"`) or an object (`{"preset": "el", "rho": 0.5}`
 * or a full option set). Throws `ConfigError` naming the bad key, prefixed with `path`.
 */
export function parseLossOptions(input: unknown, path = 'loss'): LossOptions {
  if (typeof input === 'string') return fromPreset(input, path);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(path, input, `a preset name (${PRESET_NAMES.join(', ')}) or an options object`);
  }
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!OPTION_KEYS.has(key)) throw new ConfigError(`${path}.${key}`, raw[key], `no such option; known: ${[...OPTION_KEYS].join(', ')}`);
  }
  const start = raw['preset'] === undefined ? DEFAULT_LOSS_OPTIONS : fromPreset(raw['preset'], `${path}.preset`);
  const opts: LossOptions = {
    base: pick(raw, 'base', start.base, path, (v, k) => oneOf(v, BASE_LOSSES, k)),
    bonus: pick(raw, 'bonus', start.bonus, path, (v, k) => oneOf(v, BONUS_KINDS, k)),
    rho: pick(raw, 'rho', start.rho, path, (v, k) => num(v, k, (x) => x >= 0, 'a number ≥ 0')),
    gamma: pick(raw, 'gamma', start.gamma, path, (v, k) => num(v, k, (x) => x > 0, 'a number > 0')),
    logEnd: pick(raw, 'logEnd', start.logEnd, path, (v, k) => num(v, k, (x) => x > 0 && x <= 1, 'a number in (0, 1]')),
    bonusStart: pick(raw, 'bonusStart', start.bonusStart, path, (v, k) => num(v, k, (x) => x >= 0 && x < 1, 'a number in [0, 1)')),
    bonusAbrupt: pick(raw, 'bonusAbrupt', start.bonusAbrupt, path, (v, k) =>
      v === null ? null : num(v, k, (x) => x > 0 && x <= 1, 'a number in (0, 1] or null'),
    ),
    labelSmoothing: pick(raw, 'labelSmoothing', start.labelSmoothing, path, (v, k) => num(v, k, (x) => x >= 0 && x < 1, 'a number in [0, 1)')),
    schedule: pick(raw, 'schedule', start.schedule, path, (v, k) => (v === null ? null : parseSchedule(v, k))),
    deferStart: pick(raw, 'deferStart', start.deferStart, path, (v, k) =>
      num(v, k, (x) => Number.isInteger(x) && x >= 0, 'an integer epoch ≥ 0'),
    ),
    preset: start.preset,
  };
  checkCombination(opts, path);
  return opts;
}

function fromPreset(name: unknown, path: string): LossOptions {
  if (typeof name !== 'string' || !(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(path, name, `one of the presets ${PRESET_NAMES.join(', ')}`);
  }
  const preset = name as PresetName;
  return { ...DEFAULT_LOSS_OPTIONS, ...PRESETS[preset], preset };
}

/**
 * Combinations that `el.py` silently ignores are rejected here: an option that has no effect
 * is almost always a mistake in an experiment spec.
 */
function checkCombination(o: LossOptions, path: string): void {
  const mirror = MIRROR_BASES.includes(o.base);
  if (mirror && o.bonus !== 'none' && o.bonus !== 'power') {
    throw new ConfigError(`${path}.bonus`, o.bonus, `'none' or 'power' (the mirror term, exponent gamma) for base '${o.base}'`);
  }
  if (o.logEnd !== 1 && o.bonus !== 'log') throw new ConfigError(`${path}.logEnd`, o.logEnd, `1: logEnd applies only to bonus 'log' (bonus is '${o.bonus}')`);
  if (o.bonusStart !== 0 && (mirror || (o.bonus !== 'log' && o.bonus !== 'power'))) {
    throw new ConfigError(`${path}.bonusStart`, o.bonusStart, `0: bonusStart applies only to the 'log' and 'power' bonus on a ce/bce_sigmoid base`);
  }
  if (o.bonusAbrupt !== null && (mirror || o.bonus === 'none')) {
    throw new ConfigError(`${path}.bonusAbrupt`, o.bonusAbrupt, `null: bonusAbrupt applies only to a bonus on a ce/bce_sigmoid base`);
  }
  if (o.labelSmoothing !== 0 && o.base !== 'ce') {
    throw new ConfigError(`${path}.labelSmoothing`, o.labelSmoothing, `0: label smoothing applies only to base 'ce'`);
  }
  if (o.schedule !== null) {
    if (mirror || o.bonus === 'none') throw new ConfigError(`${path}.schedule`, o.schedule, `null: schedules apply only to a bonus on a ce/bce_sigmoid base`);
    if (o.schedule.target === 'logEnd' && (o.bonus !== 'log' || o.logEnd === 1)) {
      throw new ConfigError(`${path}.schedule.target`, o.schedule.target, `'rho': the logEnd schedule needs bonus 'log' with logEnd < 1`);
    }
  }
}

function parseSchedule(v: unknown, path: string): ScheduleOptions {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ConfigError(path, v, 'an object {kind, target, maxEpoch, expRatio?} or null');
  const raw = v as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!SCHEDULE_KEYS.has(key)) throw new ConfigError(`${path}.${key}`, raw[key], `no such schedule option; known: ${[...SCHEDULE_KEYS].join(', ')}`);
  }
  if (raw['kind'] === undefined) throw new ConfigError(`${path}.kind`, undefined, SCHEDULE_KINDS.join('|'));
  if (raw['maxEpoch'] === undefined) throw new ConfigError(`${path}.maxEpoch`, undefined, 'a number > 0');
  return {
    kind: oneOf(raw['kind'], SCHEDULE_KINDS, `${path}.kind`),
    target: raw['target'] === undefined ? 'rho' : oneOf(raw['target'], SCHEDULE_TARGETS, `${path}.target`),
    maxEpoch: num(raw['maxEpoch'], `${path}.maxEpoch`, (x) => x > 0, 'a number > 0'),
    expRatio: raw['expRatio'] === undefined ? DEFAULT_EXP_RATIO : num(raw['expRatio'], `${path}.expRatio`, (x) => x !== 0, 'a non-zero number'),
  };
}

function pick<T>(raw: Record<string, unknown>, key: string, fallback: T, path: string, parse: (v: unknown, key: string) => T): T {
  return raw[key] === undefined ? fallback : parse(raw[key], `${path}.${key}`);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], key: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw new ConfigError(key, v, `one of ${allowed.join(', ')}`);
  return v as T;
}

function num(v: unknown, key: string, ok: (x: number) => boolean, expected: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new ConfigError(key, v, expected);
  return v;
}
