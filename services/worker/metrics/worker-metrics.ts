/**
 * One worker process's own view for `/metrics`: where its step time goes (data, compute,
 * all-reduce, update), how many samples it trains, what its all-reduces send and take, how long
 * rank 0's checkpoints take, and its place in the ring. Run-level figures (loss, accuracy,
 * confidence bins) come from the coordinator, which merges every rank; a worker is identified
 * by its scrape target, never by a label per rank or step.
 *
 * The worker runtime calls three hooks — `joined`, `stepDone`, `checkpointDone` — and nothing
 * else, so the training loop stays free of metrics code.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { CHECKPOINT_SECONDS_BUCKETS, createRegistry, metricName, STEP_SECONDS_BUCKETS } from '../../core/metrics/registry.js';

/** The phases of a data-parallel step, as the worker runtime times them. */
export const STEP_PHASES = ['data', 'compute', 'allreduce', 'update'] as const;
export type StepPhase = (typeof STEP_PHASES)[number];

/** What the worker learns at the rendezvous (again at every re-rendezvous). */
export interface JoinInfo {
  readonly experiment: string;
  readonly rank: number;
  readonly worldSize: number;
  readonly generation: number;
  readonly model: string;
  readonly loss: string;
  readonly backend: string;
  /** Compute device (GPU adapter or `cpu`). */
  readonly device: string;
}

/** One finished step (the fields of the runtime's step report that matter here). */
export interface StepTiming {
  /** Global step after this one. */
  readonly step: number;
  readonly examples: number;
  readonly dataSeconds: number;
  readonly computeSeconds: number;
  readonly allreduceSeconds: number;
  readonly updateSeconds: number;
  /** Bytes this rank sent in the step's gradient all-reduce. */
  readonly allreduceBytes: number;
}

/** The hooks the worker runtime calls (WorkerOptions.metrics). */
export interface WorkerMetricsHooks {
  joined(info: JoinInfo): void;
  stepDone(t: StepTiming): void;
  checkpointDone(seconds: number): void;
}

export class WorkerMetrics implements WorkerMetricsHooks {
  readonly registry: Registry;
  private join: JoinInfo | null = null;
  private lastStep: number | null = null;
  private readonly phaseSeconds: Histogram<'phase'>;
  private readonly stepSeconds: Histogram;
  private readonly samples: Counter;
  private readonly steps: Counter;
  private readonly allreduceBytes: Counter;
  private readonly allreduceSeconds: Histogram;
  private readonly checkpointSeconds: Histogram;
  private readonly rank: Gauge;
  private readonly worldSize: Gauge;
  private readonly generation: Gauge;
  private readonly step: Gauge;
  private readonly info: Gauge<'model' | 'loss' | 'backend' | 'device'>;

  constructor(registry: Registry = createRegistry()) {
    this.registry = registry;
    const registers = [registry];
    const buckets = [...STEP_SECONDS_BUCKETS];
    this.phaseSeconds = new Histogram({ name: metricName('worker_step_phase_duration_seconds'), help: 'Time per step phase on this worker: data (batch assembly and augmentation), compute (forward + backward), allreduce (gradient ring all-reduce), update (SGD).', labelNames: ['phase'], buckets, registers });
    this.stepSeconds = new Histogram({ name: metricName('worker_step_duration_seconds'), help: 'Duration of a whole training step on this worker (all four phases).', buckets, registers });
    this.samples = new Counter({ name: metricName('worker_samples_total'), help: 'Training samples this worker processed; rate() is its samples per second.', registers });
    this.steps = new Counter({ name: metricName('worker_steps_total'), help: 'Training steps this worker completed.', registers });
    this.allreduceBytes = new Counter({ name: metricName('worker_allreduce_sent_bytes_total'), help: 'Bytes this worker sent to its ring neighbour in gradient all-reduces.', registers });
    this.allreduceSeconds = new Histogram({ name: metricName('worker_allreduce_duration_seconds'), help: 'Duration of one gradient all-reduce on this worker (reduce-scatter + all-gather).', buckets, registers });
    this.checkpointSeconds = new Histogram({ name: metricName('worker_checkpoint_duration_seconds'), help: 'Time rank 0 takes to capture a checkpoint and stream it to the coordinator, which writes it before answering.', buckets: [...CHECKPOINT_SECONDS_BUCKETS], registers });
    this.rank = new Gauge({ name: metricName('worker_rank'), help: 'Rank of this worker in the current generation (-1 before the rendezvous).', registers });
    this.worldSize = new Gauge({ name: metricName('worker_world_size'), help: 'Ranks in this worker\'s ring (0 before the rendezvous).', registers });
    this.generation = new Gauge({ name: metricName('worker_generation'), help: 'Rendezvous generation this worker trains in (0 before the rendezvous).', registers });
    this.step = new Gauge({ name: metricName('worker_step'), help: 'Global step this worker completed last.', registers });
    this.info = new Gauge({ name: metricName('worker_info'), help: 'Always 1; labels name what this worker runs: model, loss preset, compute backend and device (GPU adapter or cpu).', labelNames: ['model', 'loss', 'backend', 'device'], registers });
    this.rank.set(-1);
    // Every phase exists from the first scrape, so per-phase queries never come back empty.
    for (const phase of STEP_PHASES) this.phaseSeconds.zero({ phase });
  }

  joined(info: JoinInfo): void {
    if (this.join === null || this.join.experiment !== info.experiment) this.registry.setDefaultLabels({ experiment: info.experiment });
    this.join = info;
    this.rank.set(info.rank);
    this.worldSize.set(info.worldSize);
    this.generation.set(info.generation);
    this.info.reset();
    this.info.labels(info.model, info.loss, info.backend, info.device).set(1);
  }

  stepDone(t: StepTiming): void {
    const phases: Record<StepPhase, number> = { data: t.dataSeconds, compute: t.computeSeconds, allreduce: t.allreduceSeconds, update: t.updateSeconds };
    let total = 0;
    for (const phase of STEP_PHASES) {
      const s = phases[phase];
      if (!(s >= 0)) throw new RangeError(`step ${t.step}: ${phase} duration must be a non-negative number of seconds, got ${s}`);
      this.phaseSeconds.labels(phase).observe(s);
      total += s;
    }
    this.stepSeconds.observe(total);
    this.allreduceSeconds.observe(t.allreduceSeconds);
    this.allreduceBytes.inc(t.allreduceBytes);
    this.samples.inc(t.examples);
    this.steps.inc();
    this.step.set(t.step);
    this.lastStep = t.step;
  }

  checkpointDone(seconds: number): void {
    if (!(seconds >= 0)) throw new RangeError(`checkpoint duration must be a non-negative number of seconds, got ${seconds}`);
    this.checkpointSeconds.observe(seconds);
  }

  /** Fields for this worker's log lines: experiment, rank and generation once joined, the last step once trained. */
  logFields(): Record<string, unknown> {
    return { experiment: this.join?.experiment, rank: this.join?.rank, generation: this.join?.generation, step: this.lastStep ?? undefined };
  }
}
