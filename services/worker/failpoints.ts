/**
 * Fail points for chaos tests (the etcd gofail / TiKV fail-rs idea): a worker started with
 * `ENCOURAGE_FAILPOINTS=phase@step[,phase@step…]` kills itself with SIGKILL when it reaches that
 * phase of that global step, so tests can crash a worker *exactly* mid-forward, mid-all-reduce or
 * mid-checkpoint instead of hoping a timer lands there. Unset in production (no effect then).
 *
 * Phases: `forward` (before the forward pass, synchronously), `allreduce` (just after the step's
 * all-reduce has started sending), `checkpoint` (just after the checkpoint upload has started).
 *
 * An entry may name the process it is meant for, `L:phase@step`, L being the worker's
 * `--local-index`: the processes of one launcher (`encourage train --workers N`) or one pod share
 * their environment, and a test that wants one of them to crash must say which.
 */
import { ConfigError } from '../core/errors.js';

export const FAIL_PHASES = ['forward', 'allreduce', 'checkpoint'] as const;
export type FailPhase = (typeof FAIL_PHASES)[number];

export class Failpoints {
  private readonly points: { phase: FailPhase; step: number }[];

  /**
   * @param spec `[L:]phase@step[,…]`
   * @param localIndex this process's local index; entries for another index are ignored
   * @throws ConfigError naming the malformed entry
   */
  constructor(spec: string, localIndex = 0) {
    this.points = spec
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((entry) => {
        const m = /^(?:(\d+):)?([a-z]+)@(\d+)$/.exec(entry);
        if (m === null || !(FAIL_PHASES as readonly string[]).includes(m[2]!)) throw new ConfigError('ENCOURAGE_FAILPOINTS', entry, `[localIndex:]phase@step with phase one of ${FAIL_PHASES.join(', ')}`);
        return { local: m[1] === undefined ? null : Number(m[1]), phase: m[2] as FailPhase, step: Number(m[3]) };
      })
      .filter((p) => p.local === null || p.local === localIndex)
      .map(({ phase, step }) => ({ phase, step }));
  }

  get active(): boolean {
    return this.points.length > 0;
  }

  /** Whether a fail point of this process is set at `phase` of `step`. */
  armed(phase: FailPhase, step: number): boolean {
    return this.points.some((p) => p.phase === phase && p.step === step);
  }

  /**
   * Crash here if a fail point matches. `forward` dies at once; the others after the current
   * turn of the event loop, i.e. while the operation they interrupt is in flight.
   */
  hit(phase: FailPhase, step: number): void {
    if (!this.armed(phase, step)) return;
    if (phase === 'forward') process.kill(process.pid, 'SIGKILL');
    else setImmediate(() => process.kill(process.pid, 'SIGKILL'));
  }
}
