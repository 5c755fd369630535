/**
 * The operator's Prometheus metrics (prom-client, its own registry so nothing global leaks in):
 * reconcile outcomes and latency, queue depth, informer restarts, and experiments per phase.
 * Names follow the project's `encourage_<noun>_<unit>` convention.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createRegistry } from '../../core/metrics/registry.js';
import { PHASES, type Experiment } from './experiment-types.js';

export class OperatorMetrics {
  /** With the default process metrics (core/metrics/registry.ts). */
  readonly registry: Registry = createRegistry();
  readonly reconciles = new Counter({ name: 'encourage_operator_reconciles_total', help: 'Reconciles of Experiments by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({
    name: 'encourage_operator_reconcile_duration_seconds',
    help: 'Time to reconcile one Experiment',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly informerRestarts = new Counter({ name: 'encourage_operator_informer_restarts_total', help: 'List/watch restarts after an error', labelNames: ['resource'] as const, registers: [this.registry] });

  constructor(queueDepth: () => number, experiments: () => readonly Experiment[]) {
    new Gauge({
      name: 'encourage_operator_queue_depth',
      help: 'Experiment keys waiting in the work queue',
      registers: [this.registry],
      collect() {
        this.set(queueDepth());
      },
    });
    new Gauge({
      name: 'encourage_operator_experiments',
      help: 'Experiments known to the operator, by phase',
      labelNames: ['phase'] as const,
      registers: [this.registry],
      collect() {
        const counts = new Map<string, number>([...PHASES, 'Unknown'].map((p) => [p, 0]));
        for (const e of experiments()) {
          const p = e.status?.phase ?? 'Unknown';
          counts.set(p, (counts.get(p) ?? 0) + 1);
        }
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
  }
}
