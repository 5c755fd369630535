/** A worker's /metrics over real HTTP: the runtime's hooks in, Prometheus series out. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/logging.js';
import { startMetricsServer } from '../../core/metrics/metrics-server.js';
import { checkMetrics, parseExposition, sampleValue } from '../../core/metrics/prometheus-harness.js';
import { STEP_PHASES, WorkerMetrics } from './worker-metrics.js';

test('step phases, samples, all-reduce bytes/time, checkpoints and the ring place', async () => {
  const metrics = new WorkerMetrics();
  const server = await startMetricsServer({ registry: metrics.registry, listen: { host: '127.0.0.1', port: 0 }, logger: silentLogger, role: 'worker' });
  try {
    const scrape = async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return { text, samples: parseExposition(text) };
    };
    let { text, samples } = await scrape();
    // Before the rendezvous: no rank yet, every phase present at zero, no experiment label yet.
    assert.equal(sampleValue(samples, 'encourage_worker_rank'), -1);
    for (const phase of STEP_PHASES) assert.equal(sampleValue(samples, 'encourage_worker_step_phase_duration_seconds_count', { phase }), 0);
    assert.deepEqual(metrics.logFields(), { experiment: undefined, rank: undefined, generation: undefined, step: undefined });
    let lint = await checkMetrics(text);
    assert.ok(lint.ok, `promtool check metrics (before joining): ${lint.findings}`);

    metrics.joined({ experiment: 'el-w', rank: 1, worldSize: 2, generation: 1, model: 'cnn-small', loss: 'el', backend: 'webgpu', device: 'nvidia nvidia-h200 — NVIDIA H200' });
    metrics.stepDone({ step: 1, examples: 16, dataSeconds: 0.002, computeSeconds: 0.03, allreduceSeconds: 0.02, updateSeconds: 0.003, allreduceBytes: 1000 });
    metrics.stepDone({ step: 2, examples: 16, dataSeconds: 0.004, computeSeconds: 0.2, allreduceSeconds: 0.6, updateSeconds: 0.001, allreduceBytes: 1000 });
    metrics.checkpointDone(0.07);
    ({ text, samples } = await scrape());
    const e = { experiment: 'el-w' };
    assert.equal(sampleValue(samples, 'encourage_worker_rank', e), 1);
    assert.equal(sampleValue(samples, 'encourage_worker_world_size', e), 2);
    assert.equal(sampleValue(samples, 'encourage_worker_generation', e), 1);
    assert.equal(sampleValue(samples, 'encourage_worker_step', e), 2);
    assert.equal(sampleValue(samples, 'encourage_worker_steps_total', e), 2);
    assert.equal(sampleValue(samples, 'encourage_worker_samples_total', e), 32);
    assert.equal(sampleValue(samples, 'encourage_worker_allreduce_sent_bytes_total', e), 2000);
    assert.equal(sampleValue(samples, 'encourage_worker_info', { ...e, model: 'cnn-small', loss: 'el', backend: 'webgpu', device: 'nvidia nvidia-h200 — NVIDIA H200' }), 1);
    assert.ok(Math.abs(sampleValue(samples, 'encourage_worker_step_phase_duration_seconds_sum', { ...e, phase: 'compute' }) - 0.23) < 1e-12);
    assert.equal(sampleValue(samples, 'encourage_worker_step_phase_duration_seconds_count', { ...e, phase: 'data' }), 2);
    // Histogram buckets are cumulative: 0.02 s ≤ 0.025 < 0.6 s ≤ 1.
    assert.equal(sampleValue(samples, 'encourage_worker_allreduce_duration_seconds_bucket', { ...e, le: '0.025' }), 1);
    assert.equal(sampleValue(samples, 'encourage_worker_allreduce_duration_seconds_bucket', { ...e, le: '1' }), 2);
    assert.ok(Math.abs(sampleValue(samples, 'encourage_worker_step_duration_seconds_sum', e) - (0.055 + 0.805)) < 1e-12);
    assert.equal(sampleValue(samples, 'encourage_worker_checkpoint_duration_seconds_count', e), 1);
    assert.equal(sampleValue(samples, 'encourage_worker_checkpoint_duration_seconds_bucket', { ...e, le: '0.1' }), 1);
    assert.ok(sampleValue(samples, 'process_resident_memory_bytes', e) > 0);
    assert.deepEqual(metrics.logFields(), { experiment: 'el-w', rank: 1, generation: 1, step: 2 });
    lint = await checkMetrics(text);
    assert.ok(lint.ok, `promtool check metrics (after steps): ${lint.findings}`);

    // A re-rendezvous (elastic) moves the worker: new rank, generation, world size.
    metrics.joined({ experiment: 'el-w', rank: 0, worldSize: 1, generation: 2, model: 'cnn-small', loss: 'el', backend: 'wasm', device: 'cpu' });
    ({ samples } = await scrape());
    assert.equal(sampleValue(samples, 'encourage_worker_rank', e), 0);
    assert.equal(sampleValue(samples, 'encourage_worker_generation', e), 2);
    assert.equal(samples.filter((s) => s.name === 'encourage_worker_info').length, 1);
  } finally {
    await server.close();
  }
  assert.throws(() => metrics.stepDone({ step: 3, examples: 1, dataSeconds: Number.NaN, computeSeconds: 0, allreduceSeconds: 0, updateSeconds: 0, allreduceBytes: 0 }), /data duration.*NaN/);
  assert.throws(() => metrics.checkpointDone(-1), /checkpoint duration.*-1/);
});
