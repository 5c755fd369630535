/**
 * The error measure the kernel tests use: max |a − b| over max |b|, so a kernel is judged against
 * the scale of its own output (a plain elementwise relative error blows up near zeros, which every
 * gradient has). float32 with another summation order lands far below 1e-4.
 */

/**
 * max |a − b| / max |b| (the absolute maximum when b is all zeros).
 * @throws RangeError when the lengths differ.
 */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`comparing ${a.length} values with ${b.length}`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  }
  return scale === 0 ? worst : worst / scale;
}
