/**
 * The metrics registry every process serves on `/metrics`: an own prom-client `Registry` (never the
 * global one, so tests and the in-process coordinator of `train --workers` do not collide), with
 * the default process and Node.js metrics on.
 *
 * Naming follows https://prometheus.io/docs/practices/naming/: our metrics carry the one prefix
 * `encourage_`, base units (`_seconds`, `_bytes`), `_total` on counters, `_ratio` for 0–1 values.
 * The default metrics keep the standard names every Prometheus client library uses
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, …) so stock dashboards and
 * alerts apply to them unchanged.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

/** The prefix of every metric this project defines. */
export const METRIC_PREFIX = 'encourage_';

/**
 * prom-client default gauges whose names end in `_total` although they are not counters, which
 * `promtool check metrics` rejects. Each is the sum over the `type` label of the metric of the
 * same name without `_total` (`sum(nodejs_active_handles)` gives the same figure), so nothing is lost.
 */
export const DROPPED_DEFAULT_METRICS: readonly string[] = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Buckets (seconds) for step phases and all-reduces: 1 ms (small CNN on a GPU) to 60 s (ResNet-18 on wasm). */
export const STEP_SECONDS_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Buckets (seconds) for checkpoints: a small CNN takes milliseconds, ResNet-18 with momentum ~90 MB. */
export const CHECKPOINT_SECONDS_BUCKETS: readonly number[] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The metric name for `suffix` (`train_loss` → `encourage_train_loss`). */
export function metricName(suffix: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(suffix)) throw new RangeError(`metric name suffix must be snake_case: ${JSON.stringify(suffix)}`);
  return `${METRIC_PREFIX}${suffix}`;
}

/**
 * A fresh registry with the default process metrics registered. `labels` become labels of every
 * series (the experiment, so CE and EL runs share one panel); they can be set later, when the
 * process learns them, with `registry.setDefaultLabels`.
 */
export function createRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of DROPPED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  registry.setDefaultLabels({ ...labels });
  return registry;
}
