/**
 * The coordinator's /metrics, scraped over real HTTP while records go through a real RunDir the
 * way run-state.ts writes them: run-level series follow the records, cluster series follow the
 * coordinator at scrape time, and the exposition passes `promtool check metrics`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../core/logging.js';
import { checkMetrics, parseExposition, sampleValue, type Sample } from '../../core/metrics/prometheus-harness.js';
import { RunDir, type MetricsRecord } from '../../core/training/run-dir.js';
import { startCoordinatorMetrics, type ClusterView } from './coordinator-metrics.js';
import { binLabels } from './run-metrics.js';

const EDGES = [0, 0.5, 0.9, 1];

function stepRecord(step: number, epoch: number, over: Partial<Record<string, unknown>> = {}): MetricsRecord {
  // The fields and shapes RunState.mergeStep records (per-example means, per-bin arrays).
  return {
    type: 'step', step, epoch, lr: 0.1 / step, loss: 1.5, base: 2, bonus: -0.5, accuracy: 0.75, seconds: 0.2, imagesPerSecond: 80, workers: 2,
    phaseSeconds: { data: 0.01, compute: 0.1, allreduce: 0.05, update: 0.04 }, allreduceBytes: 1000,
    binCounts: [10, 6, 0], binMeanGradNorm: [0.8, 0.4, 0], binGradMassShare: [8 / 10.4, 2.4 / 10.4, 0],
    meanMargin: 0.25, meanPy: 0.45, ...over,
  };
}

async function scrape(url: string): Promise<{ text: string; samples: Sample[] }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return { text, samples: parseExposition(text) };
}

test('run-level series follow the records; cluster series follow the coordinator at scrape time', async () => {
  const runDir = new RunDir(join(await mkdtemp(join(tmpdir(), 'cm-')), 'run'));
  await runDir.init({});
  const cluster: { -readonly [K in keyof ClusterView]: ClusterView[K] } = { generation: 0, worldSize: 0, restarts: 0, workersLost: 0, backend: 'unknown' };
  const config = { experiment: 'el-unit', model: 'cnn-small', loss: { preset: 'el' }, confidenceEdges: EDGES, epochs: 3 };
  const started = Date.now() / 1000;
  const m = await startCoordinatorMetrics({ config, runDir, cluster: () => ({ ...cluster }) }, { host: '127.0.0.1', port: 0 }, silentLogger);
  try {
    const url = m.server!.url;
    let { text, samples } = await scrape(url);
    const e = { experiment: 'el-unit' };
    // Before the first step: counters and bins exist at 0; figures not known yet are absent.
    assert.equal(sampleValue(samples, 'encourage_step', e), 0);
    assert.equal(sampleValue(samples, 'encourage_train_examples_total', e), 0);
    for (const bin of binLabels(EDGES)) assert.equal(sampleValue(samples, 'encourage_logit_grad_norm_total', { ...e, bin }), 0);
    for (const absent of ['encourage_train_loss', 'encourage_test_accuracy_ratio', 'encourage_train_running_accuracy_ratio', 'encourage_learning_rate', 'encourage_replicas_identical']) {
      assert.ok(!samples.some((s) => s.name === absent), `${absent} is absent before it is known`);
    }
    assert.ok(sampleValue(samples, 'encourage_last_step_timestamp_seconds', e) >= Math.floor(started));
    assert.equal(sampleValue(samples, 'encourage_info', { ...e, model: 'cnn-small', loss: 'el', backend: 'unknown' }), 1);
    assert.equal(sampleValue(samples, 'encourage_run_finished', e), 0);
    assert.equal(sampleValue(samples, 'encourage_planned_epochs', e), 3);
    let lint = await checkMetrics(text);
    assert.ok(lint.ok, `promtool check metrics (before the run): ${lint.findings}`);

    cluster.generation = 1;
    cluster.worldSize = 2;
    cluster.backend = 'wasm';
    runDir.record(stepRecord(1, 1, { paramGradNormHigh: 0.3, paramGradNormLow: 1.2 }));
    runDir.record(stepRecord(2, 1, { accuracy: 0.5, binCounts: [4, 8, 4], binMeanGradNorm: [1, 0.5, 0.1], binGradMassShare: [4 / 8.4, 4 / 8.4, 0.4 / 8.4] }));
    ({ text, samples } = await scrape(url));
    assert.equal(sampleValue(samples, 'encourage_step', e), 2);
    assert.equal(sampleValue(samples, 'encourage_epoch', e), 1);
    assert.equal(sampleValue(samples, 'encourage_learning_rate', e), 0.05);
    assert.equal(sampleValue(samples, 'encourage_train_loss', e), 1.5);
    assert.equal(sampleValue(samples, 'encourage_train_loss_part', { ...e, part: 'base' }), 2);
    assert.equal(sampleValue(samples, 'encourage_train_loss_part', { ...e, part: 'bonus' }), -0.5);
    assert.equal(sampleValue(samples, 'encourage_train_examples_total', e), 32);
    assert.equal(sampleValue(samples, 'encourage_train_correct_total', e), 12 + 8);
    assert.equal(sampleValue(samples, 'encourage_train_running_accuracy_ratio', e), 20 / 32);
    const [b0, b1, b2] = binLabels(EDGES) as [string, string, string];
    assert.equal(b2, '0.9-1');
    assert.equal(sampleValue(samples, 'encourage_confidence_examples_total', { ...e, bin: b0 }), 14);
    assert.equal(sampleValue(samples, 'encourage_confidence_examples_total', { ...e, bin: b2 }), 4);
    assert.ok(Math.abs(sampleValue(samples, 'encourage_logit_grad_norm_total', { ...e, bin: b0 }) - (8 + 4)) < 1e-12);
    assert.ok(Math.abs(sampleValue(samples, 'encourage_logit_grad_norm_total', { ...e, bin: b1 }) - (2.4 + 4)) < 1e-12);
    assert.ok(Math.abs(sampleValue(samples, 'encourage_logit_grad_norm_total', { ...e, bin: b2 }) - 0.4) < 1e-12);
    assert.equal(sampleValue(samples, 'encourage_logit_grad_norm_mean', { ...e, bin: b2 }), 0.1);
    assert.ok(Math.abs(sampleValue(samples, 'encourage_logit_grad_mass_ratio', { ...e, bin: b0 }) - 4 / 8.4) < 1e-12);
    assert.equal(sampleValue(samples, 'encourage_margin_mean', e), 0.25);
    assert.equal(sampleValue(samples, 'encourage_py_mean', e), 0.45);
    // Sampled at step 1 only: the gauges keep the last sample.
    assert.equal(sampleValue(samples, 'encourage_param_grad_norm', { ...e, confidence: 'high' }), 0.3);
    assert.equal(sampleValue(samples, 'encourage_param_grad_norm', { ...e, confidence: 'low' }), 1.2);
    assert.equal(sampleValue(samples, 'encourage_param_grad_samples_total', e), 1);
    assert.equal(sampleValue(samples, 'encourage_step_duration_seconds_count', e), 2);
    assert.equal(sampleValue(samples, 'encourage_step_duration_seconds_bucket', { ...e, le: '0.25' }), 2);
    assert.equal(sampleValue(samples, 'encourage_workers', e), 2);
    assert.equal(sampleValue(samples, 'encourage_generation', e), 1);
    assert.equal(sampleValue(samples, 'encourage_info', { ...e, backend: 'wasm' }), 1);
    assert.ok(!samples.some((s) => s.name === 'encourage_info' && s.labels['backend'] === 'unknown'), 'the old info series is gone');

    // A step whose top bin is empty: that bin's mean is unknown, so its series disappears.
    runDir.record(stepRecord(3, 1));
    ({ samples } = await scrape(url));
    assert.ok(!samples.some((s) => s.name === 'encourage_logit_grad_norm_mean' && s.labels['bin'] === b2));
    assert.equal(sampleValue(samples, 'encourage_logit_grad_mass_ratio', { ...e, bin: b2 }), 0);

    runDir.record({
      type: 'epoch', epoch: 1, step: 3, trainLoss: 1.5, trainBase: 2, trainBonus: -0.5, trainAccuracy: 0.66, testLoss: 1.1, testBase: 1.1, testBonus: -0.2, testAccuracy: 0.7,
      imagesPerSecond: 80, seconds: 0.6, confidence: {}, testBinExamples: [50, 30, 0], testBinAccuracy: [0.4, 0.9, null], replicasIdentical: true,
    });
    cluster.restarts = 2;
    cluster.workersLost = 1;
    // A new epoch restarts the running accuracy.
    runDir.record(stepRecord(4, 2, { accuracy: 1, loss: Number.NaN }));
    ({ text, samples } = await scrape(url));
    assert.equal(sampleValue(samples, 'encourage_train_epoch_accuracy_ratio', e), 0.66);
    assert.equal(sampleValue(samples, 'encourage_train_running_accuracy_ratio', e), 1);
    assert.equal(sampleValue(samples, 'encourage_test_accuracy_ratio', e), 0.7);
    assert.equal(sampleValue(samples, 'encourage_test_loss', e), 1.1);
    assert.equal(sampleValue(samples, 'encourage_test_loss_part', { ...e, part: 'bonus' }), -0.2);
    assert.equal(sampleValue(samples, 'encourage_test_bin_accuracy_ratio', { ...e, bin: b1 }), 0.9);
    assert.ok(!samples.some((s) => s.name === 'encourage_test_bin_accuracy_ratio' && s.labels['bin'] === b2), 'empty test bins have no accuracy');
    assert.equal(sampleValue(samples, 'encourage_test_bin_examples', { ...e, bin: b2 }), 0);
    assert.equal(sampleValue(samples, 'encourage_replicas_identical', e), 1);
    assert.equal(sampleValue(samples, 'encourage_restarts_total', e), 2);
    assert.equal(sampleValue(samples, 'encourage_workers_lost_total', e), 1);
    // A diverged loss shows as NaN (the EncourageLossNaN alert's input), not as a vanished series.
    assert.ok(Number.isNaN(sampleValue(samples, 'encourage_train_loss', e)));
    assert.deepEqual(m.metrics.logFields(), { generation: 1, step: 4 });

    // Malformed records do not throw into the training path; their fields are skipped.
    runDir.record({ type: 'step', step: 5, epoch: 'two', binCounts: [1, 2] });
    runDir.record({ type: 'summary', step: 5 });
    ({ text, samples } = await scrape(url));
    assert.equal(sampleValue(samples, 'encourage_step', e), 5);
    assert.equal(sampleValue(samples, 'encourage_train_examples_total', e), 32 + 16 + 16);
    assert.equal(sampleValue(samples, 'encourage_run_finished', e), 1);
    lint = await checkMetrics(text);
    assert.ok(lint.ok, `promtool check metrics (after the run): ${lint.findings}`);
    assert.ok(!/token|secret/i.test(text), 'nothing secret in the exposition');
  } finally {
    await m.close();
  }
  // Closing unsubscribes from the run directory: later records change nothing (and do not throw).
  runDir.record(stepRecord(9, 3));
  assert.equal(m.metrics.run.lastStep, 5);
});

test('metrics can be off (no server) while log fields still follow the run', async () => {
  const runDir = new RunDir(join(await mkdtemp(join(tmpdir(), 'cm-')), 'run'));
  const config = { experiment: 'ce-unit', model: 'cnn-small', loss: { preset: null }, confidenceEdges: EDGES, epochs: 1 };
  const m = await startCoordinatorMetrics({ config, runDir, cluster: () => ({ generation: 3, worldSize: 4, restarts: 0, workersLost: 0, backend: 'cpu' }) }, null, silentLogger);
  assert.equal(m.server, null);
  runDir.record(stepRecord(7, 1));
  assert.deepEqual(m.metrics.logFields(), { generation: 3, step: 7 });
  const samples = parseExposition(await m.metrics.registry.metrics());
  assert.equal(sampleValue(samples, 'encourage_info', { experiment: 'ce-unit', loss: 'custom', backend: 'cpu' }), 1);
  await m.close();
});
