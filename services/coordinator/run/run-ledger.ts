/**
 * The run's lineage of committed training, generation by generation: where each generation
 * started (global step, epoch, position in the epoch's sample order) and with how many ranks.
 * Because a step consumes a contiguous block of the epoch's order (see epoch-planner.ts), a
 * generation's committed samples are one contiguous range per epoch, so the ledger can show — and
 * the tests check — that every epoch's samples were committed exactly once even when the ring
 * changed mid-epoch. A rollback (to a checkpoint) truncates the lineage; it is persisted in
 * checkpoints so that a restarted coordinator continues it.
 */
import { stepsToEpochEnd, type Cursor, type PlanContext } from '../planner/epoch-planner.js';

export interface Segment {
  readonly generation: number;
  readonly worldSize: number;
  readonly start: Cursor;
}

/** Committed positions of one epoch, as half-open ranges in commit order. */
export interface EpochAccount {
  readonly epoch: number;
  readonly ranges: readonly (readonly [number, number])[];
  readonly committed: number;
  readonly expected: number;
  /** Every position in [0, expected) committed exactly once (only meaningful for finished epochs). */
  readonly exact: boolean;
}

/** The cursor after the global step `step` (i.e. `step` steps in total) of a segment. */
export function cursorAt(ctx: PlanContext, seg: Segment, step: number): Cursor {
  if (step < seg.start.step) throw new RangeError(`step ${step} precedes the segment starting at ${seg.start.step}`);
  let n = step - seg.start.step;
  let { epoch, position } = seg.start;
  const perStep = seg.worldSize * ctx.config.batchSize;
  while (n > 0) {
    if (position >= ctx.epochSamples) {
      epoch++;
      position = 0;
    }
    const left = stepsToEpochEnd(ctx, position, seg.worldSize);
    if (n < left) {
      position += n * perStep;
      n = 0;
    } else {
      position = ctx.epochSamples;
      n -= left;
    }
  }
  return { step, epoch, position };
}

export class RunLedger {
  private segments: Segment[] = [];

  constructor(private readonly ctx: PlanContext) {}

  /** Rebuild from a checkpoint's record of it. */
  static from(ctx: PlanContext, segments: readonly Segment[]): RunLedger {
    const ledger = new RunLedger(ctx);
    ledger.segments = [...segments];
    return ledger;
  }

  get current(): Segment | null {
    return this.segments.at(-1) ?? null;
  }

  /** A new generation starts at `start` (which must not precede the current segment's start). */
  begin(generation: number, worldSize: number, start: Cursor): void {
    const cur = this.current;
    if (cur !== null && start.step < cur.start.step) throw new RangeError(`generation ${generation} starts at step ${start.step}, before step ${cur.start.step}`);
    this.segments.push({ generation, worldSize, start });
  }

  /** Cursor after global step `step` in the current segment. */
  cursorAt(step: number): Cursor {
    const cur = this.current;
    if (cur === null) return { step: 0, epoch: 0, position: 0 };
    return cursorAt(this.ctx, cur, step);
  }

  /** The segments whose training ends at or before `step` — the lineage of a checkpoint at `step` (JSON-safe). */
  lineage(step: number): Segment[] {
    return this.segments.filter((s) => s.start.step <= step).map((s) => ({ ...s, start: { ...s.start } }));
  }

  /** Per-epoch accounting of the committed lineage up to global step `upTo`. */
  accounts(upTo: number): EpochAccount[] {
    const ranges = new Map<number, [number, number][]>();
    const segs = this.lineage(upTo);
    segs.forEach((seg, i) => {
      const endStep = Math.min(upTo, segs[i + 1]?.start.step ?? upTo);
      const end = cursorAt(this.ctx, seg, endStep);
      let { epoch, position } = seg.start;
      while (epoch < end.epoch || (epoch === end.epoch && position < end.position)) {
        if (position >= this.ctx.epochSamples) {
          epoch++;
          position = 0;
          continue;
        }
        const to = epoch === end.epoch ? end.position : this.ctx.epochSamples;
        if (to > position) (ranges.get(epoch) ?? ranges.set(epoch, []).get(epoch)!).push([position, to]);
        position = to;
      }
    });
    return [...ranges.entries()]
      .sort(([a], [b]) => a - b)
      .map(([epoch, list]) => {
        const sorted = [...list].sort((a, b) => a[0] - b[0]);
        let next = 0;
        let exact = true;
        for (const [from, to] of sorted) {
          if (from !== next) exact = false;
          next = to;
        }
        const committed = list.reduce((n, [a, b]) => n + (b - a), 0);
        return { epoch: epoch + 1, ranges: list, committed, expected: this.ctx.epochSamples, exact: exact && next === this.ctx.epochSamples };
      });
  }
}
