/**
 * Command-line flags and the summary statistic shared by the benchmark scripts that take
 * `--name value` pairs (bench:train, bench:ddp).
 */

/** The value after `--name`, or `fallback`. */
export function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** `--name` as an integer ≥ `min`; a bad value is an error naming it. */
export function positiveInt(name: string, fallback: number, min = 1): number {
  const text = flag(name, String(fallback));
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return v;
}

/** Median of per-round figures (the lower middle value for an even count: always a measured round). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
}
