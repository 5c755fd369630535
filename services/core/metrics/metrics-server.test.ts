/**
 * The /metrics and /healthz endpoint over real HTTP on loopback: exposition format, promtool's
 * lint, status codes, address reporting, bind errors and shutdown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Gauge } from 'prom-client';
import { startMetricsServer } from './metrics-server.js';
import { MetricsListenError } from './metrics-errors.js';
import { createRegistry, DROPPED_DEFAULT_METRICS, metricName } from './registry.js';
import { OptionalGauge } from './optional-gauge.js';
import { checkMetrics, parseExposition, sampleValue } from './prometheus-harness.js';

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

test('serves the registry on /metrics (lint-clean for promtool) and a tiny JSON on /healthz', async () => {
  const registry = createRegistry({ experiment: 'unit' });
  new Gauge({ name: metricName('unit_value'), help: 'A test gauge.', registers: [registry] }).set(42);
  const { logger, lines } = capturingLogger();
  const server = await startMetricsServer({ registry, listen: { host: '127.0.0.1', port: 0 }, logger, role: 'worker' });
  try {
    assert.ok(server.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    // The bound (ephemeral) address is logged, so a person or a test can find it.
    assert.ok(lines.some((l) => l['metricsUrl'] === `${server.url}/metrics` && l['role'] === 'worker'), JSON.stringify(lines));

    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const samples = parseExposition(text);
    assert.equal(sampleValue(samples, 'encourage_unit_value', { experiment: 'unit' }), 42);
    // Default process metrics are on, under their standard names, and carry the default label.
    assert.ok(sampleValue(samples, 'process_cpu_seconds_total', { experiment: 'unit' }) >= 0);
    assert.ok(samples.some((s) => s.name === 'nodejs_heap_size_used_bytes'));
    for (const dropped of DROPPED_DEFAULT_METRICS) assert.ok(!samples.some((s) => s.name === dropped), `${dropped} is dropped`);
    const lint = await checkMetrics(text);
    assert.ok(lint.ok, `promtool check metrics: ${lint.findings}`);

    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.match(health.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await health.json(), { status: 'ok', role: 'worker' });

    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.equal((await fetch(`${server.url}/metrics?x=1`)).status, 200, 'query strings are ignored');
    const missing = await fetch(`${server.url}/debug`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /\/metrics/);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  } finally {
    await server.close();
  }
  await assert.rejects(fetch(`${server.url}/healthz`), 'closed servers refuse connections');
});

test('an optional gauge is absent until set; a failing collect answers 500 and is logged', async () => {
  const registry = createRegistry();
  const g = new OptionalGauge({ name: metricName('unit_optional'), help: 'Absent until known.', registers: [registry] });
  const { logger, lines } = capturingLogger();
  const server = await startMetricsServer({ registry, listen: { host: '127.0.0.1', port: 0 }, logger, role: 'coordinator' });
  try {
    const before = parseExposition(await (await fetch(`${server.url}/metrics`)).text());
    assert.ok(!before.some((s) => s.name === 'encourage_unit_optional'));
    g.update(0);
    assert.equal(sampleValue(parseExposition(await (await fetch(`${server.url}/metrics`)).text()), 'encourage_unit_optional'), 0);
    g.reset();
    assert.ok(!parseExposition(await (await fetch(`${server.url}/metrics`)).text()).some((s) => s.name === 'encourage_unit_optional'));

    new Gauge({ name: metricName('unit_broken'), help: 'Its collect throws.', registers: [registry], collect() { throw new Error('source gone'); } });
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /source gone/);
    assert.ok(lines.some((l) => l['msg'] === 'collecting metrics failed' && l['err'] === 'source gone'));
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200, 'health does not depend on collection');
  } finally {
    await server.close();
  }
});

test('a port in use fails with MetricsListenError naming the address', async () => {
  const registry = createRegistry();
  const first = await startMetricsServer({ registry, listen: { host: '127.0.0.1', port: 0 }, logger: pino({ level: 'silent' }), role: 'worker' });
  try {
    await assert.rejects(
      startMetricsServer({ registry, listen: { host: '127.0.0.1', port: first.port }, logger: pino({ level: 'silent' }), role: 'worker' }),
      (err: unknown) => err instanceof MetricsListenError && err.port === first.port && err.code === 'EADDRINUSE' && err.message.includes(`127.0.0.1:${first.port}`),
    );
  } finally {
    await first.close();
  }
});

test('metricName enforces snake_case suffixes under the one prefix', () => {
  assert.equal(metricName('train_loss'), 'encourage_train_loss');
  assert.throws(() => metricName('TrainLoss'), /snake_case: "TrainLoss"/);
  assert.throws(() => metricName(''), /snake_case/);
});
