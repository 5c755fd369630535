/**
 * Parameter initialisers reproducing PyTorch's defaults, driven by the project's seeded `Rng` so
 * that the same seed gives bit-identical weights on every machine and backend.
 *
 * PyTorch `nn.Conv2d`/`nn.Linear.reset_parameters()` call `kaiming_uniform_(w, a=sqrt(5))`:
 * gain = sqrt(2 / (1 + a²)) = sqrt(1/3), std = gain / sqrt(fan_in), bound = sqrt(3)·std
 * = 1 / sqrt(fan_in); i.e. w ~ U(−1/sqrt(fan_in), 1/sqrt(fan_in)). The bias uses the same bound.
 * `fan_in` is in_channels·kh·kw for a conv and in_features for a linear layer. We draw in our
 * own (NHWC / [in, out]) element order; matching PyTorch's RNG stream is not a goal, matching its
 * distribution is.
 */
import { ConfigError } from '../../../core/errors.js';
import type { Rng } from '../../../core/random.js';

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * `size` samples of U(−bound, bound), drawn in order from `rng`.
 * Each sample consumes exactly one `rng.next()`, so initialisation is a pure function of the seed
 * and of the order in which parameters are created.
 */
export function uniformValues(rng: Rng, size: number, bound: number): Float32Array {
  if (!Number.isInteger(size) || size < 0) throw new ConfigError('init.size', size, 'a non-negative integer');
  if (!(bound >= 0) || !Number.isFinite(bound)) throw new ConfigError('init.bound', bound, 'a finite non-negative number');
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** PyTorch's default weight/bias bound for Conv2d and Linear: 1/sqrt(fan_in). */
export function defaultInitBound(fanIn: number): number {
  if (!Number.isInteger(fanIn) || fanIn <= 0) throw new ConfigError('init.fanIn', fanIn, 'a positive integer');
  return 1 / Math.sqrt(fanIn);
}

/** `kaiming_uniform_(a=sqrt(5))` values for a tensor of `size` elements with the given fan-in. */
export function kaimingUniformDefault(rng: Rng, size: number, fanIn: number): Float32Array {
  return uniformValues(rng, size, defaultInitBound(fanIn));
}

/** A Float32Array filled with `value` (BatchNorm γ = 1, β = 0, running_var = 1, running_mean = 0). */
export function filledValues(size: number, value: number): Float32Array {
  return new Float32Array(size).fill(value);
}
