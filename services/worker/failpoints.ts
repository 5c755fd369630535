/**
 * Fail points for chaos tests (the etcd gofail / TiKV fail-rs idea): a worker started with
 * `ENCOURAGE_FAILPOINTS=phase@step[,phase@step…]` kills itself with SIGKILL when it reaches that
 * phase of that global step, so tests can crash a worker *exactly* mid-forward, mid-all-reduce or
 * mid-checkpoint instead of hoping a timer lands there. Unset in production (no effect then).
 *
 * Phases: `forward` (before the forward pass, synchronously), `allreduce` (just after the step's
 * all-reduce has started sending), `checkpoint` (just after the checkpoint upload has started).
 */
import { ConfigError } from '../core/errors.js';

export const FAIL_PHASES = ['forward', 'allreduce', 'checkpoint'] as const;
export type FailPhase = (typeof FAIL_PHASES)[number];

export class Failpoints {
  private readonly points: { phase: FailPhase; step: number }[];

  /** @throws ConfigError naming the malformed entry */
  constructor(spec: string) {
    this.points = spec
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((entry) => {
        const m = /^([a-z]+)@(\d+)$/.exec(entry);
        if (m === null || !(FAIL_PHASES as readonly string[]).includes(m[1]!)) throw new ConfigError('ENCOURAGE_FAILPOINTS', entry, `phase@step with phase one of ${FAIL_PHASES.join(', ')}`);
        return { phase: m[1] as FailPhase, step: Number(m[2]) };
      });
  }

  get active(): boolean {
    return this.points.length > 0;
  }

  /**
   * Crash here if a fail point matches. `forward` dies at once; the others after the current
   * turn of the event loop, i.e. while the operation they interrupt is in flight.
   */
  hit(phase: FailPhase, step: number): void {
    if (!this.points.some((p) => p.phase === phase && p.step === step)) return;
    if (phase === 'forward') process.kill(process.pid, 'SIGKILL');
    else setImmediate(() => process.kill(process.pid, 'SIGKILL'));
  }
}
