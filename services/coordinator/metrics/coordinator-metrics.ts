/**
 * The coordinator's `/metrics`: run-level figures derived from the records it writes (RunMetrics),
 * cluster figures read from the coordinator at scrape time, and an `encourage_info` series naming
 * the experiment, model, loss preset and backend. Every series carries the `experiment` label, so
 * CE and EL runs scraped by one Prometheus share a panel.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { createRegistry, metricName } from '../../core/metrics/registry.js';
import { startMetricsServer, type MetricsServer } from '../../core/metrics/metrics-server.js';
import type { MetricsListen } from '../../core/metrics/metrics-options.js';
import type { MetricsRecord } from '../../core/training/run-dir.js';
import { RunMetrics } from './run-metrics.js';

/** What the coordinator reports about its cluster (Coordinator.cluster()). */
export interface ClusterView {
  /** Rendezvous generation (0 before the first). */
  readonly generation: number;
  /** Workers in the ring of the current generation. */
  readonly worldSize: number;
  /** Times the run re-formed its ring after a failure. */
  readonly restarts: number;
  /** Workers declared lost (missed heartbeats, failed calls). */
  readonly workersLost: number;
  /** Compute backend the workers reported ('unknown' before the first registration). */
  readonly backend: string;
}

/** The narrow view of a coordinator these metrics need. */
export interface CoordinatorMetricsSource {
  readonly config: { readonly experiment: string; readonly model: string; readonly loss: { readonly preset: string | null }; readonly confidenceEdges: readonly number[]; readonly epochs: number };
  readonly runDir: { onRecord(listener: (rec: MetricsRecord) => void): () => void };
  cluster(): ClusterView;
}

export class CoordinatorMetrics {
  readonly registry: Registry;
  readonly run: RunMetrics;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: CoordinatorMetricsSource,
    logger: Logger,
  ) {
    const { config } = source;
    this.registry = createRegistry({ experiment: config.experiment });
    this.run = new RunMetrics(this.registry, config.confidenceEdges, config.epochs);
    const registers = [this.registry];
    const loss = config.loss.preset ?? 'custom';
    new Gauge({
      name: metricName('info'), help: 'Always 1; labels name the run: experiment, model, loss preset, compute backend.', labelNames: ['experiment', 'model', 'loss', 'backend'], registers,
      collect() {
        this.reset();
        this.labels(config.experiment, config.model, loss, source.cluster().backend).set(1);
      },
    });
    new Gauge({ name: metricName('workers'), help: 'Workers in the ring of the current generation.', registers, collect() { this.set(source.cluster().worldSize); } });
    new Gauge({ name: metricName('generation'), help: 'Rendezvous generation (bumped by every membership change; 0 before the first rendezvous).', registers, collect() { this.set(source.cluster().generation); } });
    new Counter({ name: metricName('restarts_total'), help: 'Times the run re-formed its ring after a failure.', registers, collect() { setCounter(this, source.cluster().restarts); } });
    new Counter({ name: metricName('workers_lost_total'), help: 'Workers declared lost (missed heartbeats or failed calls).', registers, collect() { setCounter(this, source.cluster().workersLost); } });
    this.unsubscribe = source.runDir.onRecord((rec) => {
      // A metrics bug must not fail a training run: log it and keep going.
      try {
        this.run.observe(rec);
      } catch (err) {
        logger.error({ err: (err as Error).message, recordType: rec.type, step: rec.step }, 'updating metrics from a record failed');
      }
    });
  }

  /** Fields for every coordinator log line: generation and the last merged step. */
  logFields(): Record<string, unknown> {
    return { generation: this.source.cluster().generation, step: this.run.lastStep };
  }

  /** Stop following the run directory. */
  close(): void {
    this.unsubscribe();
  }
}

/** Set a counter to a value kept elsewhere (a monotonic count owned by the coordinator). */
function setCounter(c: Counter, value: number): void {
  c.reset();
  if (value > 0) c.inc(value);
}

/**
 * Metrics for `source`, served on `listen` (null: collected for log fields but not served).
 * `close` stops the server and the record subscription.
 */
export async function startCoordinatorMetrics(source: CoordinatorMetricsSource, listen: MetricsListen | null, logger: Logger): Promise<{ metrics: CoordinatorMetrics; server: MetricsServer | null; close(): Promise<void> }> {
  const metrics = new CoordinatorMetrics(source, logger);
  let server: MetricsServer | null = null;
  try {
    server = listen === null ? null : await startMetricsServer({ registry: metrics.registry, listen, logger, role: 'coordinator' });
  } catch (err) {
    metrics.close();
    throw err;
  }
  return {
    metrics,
    server,
    async close() {
      metrics.close();
      await server?.close();
    },
  };
}
