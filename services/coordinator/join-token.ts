/**
 * The run's join token: a shared secret a worker presents to read the run's configuration
 * (DescribeRun) and to register. It is compared in constant time, so response timing tells a
 * guessing client nothing about how much of its guess was right, and it is never logged, written
 * to the run directory or exposed on /metrics (docs/security.md).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bytes of randomness in a generated token (256 bits, hex-encoded). */
export const GENERATED_TOKEN_BYTES = 32;

/** A fresh random token, e.g. for the loopback run of `encourage train --workers N`. */
export function generateJoinToken(): string {
  return randomBytes(GENERATED_TOKEN_BYTES).toString('hex');
}

/**
 * Whether `presented` is the run's token; any token matches when the run has none (null).
 * Both sides are hashed first so that the comparison takes the same time whatever their lengths.
 */
export function joinTokenMatches(expected: string | null, presented: string): boolean {
  if (expected === null) return true;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(presented));
}
