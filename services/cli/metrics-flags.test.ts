/**
 * The metrics flags as pods use them, with real processes: `encourage coordinator` and a
 * two-process worker pod (`--local-procs 2`) serving /metrics and /healthz on consecutive ports;
 * no secret in either answer; bad flag values refused with the value named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseExposition, sampleValue } from '../core/metrics/prometheus-harness.js';
import { runCli, startCli } from './cli-harness.js';
/** main.ts's EXIT_USAGE (importing main.js would run the CLI). */
const EXIT_USAGE = 2;

test('bad metrics flags are usage errors naming the value', async () => {
  const bad = await runCli(['coordinator', '--metrics-port', '70000', '--experiment', 'x']);
  assert.equal(bad.code, EXIT_USAGE);
  assert.match(bad.stderr, /invalid metrics-port: "70000"/);
  const single = await runCli(['train', '--metrics-port', '9400', '--epochs', '1']);
  assert.equal(single.code, EXIT_USAGE);
  assert.match(single.stderr, /metrics-port.*with --workers/);
  const worker = await runCli(['worker', '--coordinator', '127.0.0.1:1', '--metrics-port', 'sometimes']);
  assert.equal(worker.code, EXIT_USAGE);
  assert.match(worker.stderr, /invalid metrics-port: "sometimes"/);
});

/** Free base port with `count` consecutive free ports, below the ephemeral range (see observability.test.ts). */
async function portRange(count: number): Promise<number> {
  const { createServer } = await import('node:net');
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    if ((await Promise.all(Array.from({ length: count }, (_, i) => free(base + i)))).every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

test('coordinator and a --local-procs 2 worker pod serve /metrics and /healthz; nothing secret is exposed', { timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'metrics-pod-'));
  const base = await portRange(4);
  const token = 'metrics-test-join-token';
  const coordinator = startCli([
    'coordinator', '--host', '127.0.0.1', '--port', String(base), '--min-workers', '2', '--max-workers', '2', '--join-token', token,
    '--data', 'synthetic', '--synthetic-train', '128', '--synthetic-test', '32', '--model', 'cnn-small', '--epochs', '1', '--batch-size', '16',
    '--experiment', 'metrics-pod', '--run-dir', dir, '--metrics-port', String(base + 1), '--metrics-host', '127.0.0.1', '--log-level', 'info',
  ]);
  let pod: ReturnType<typeof startCli> | null = null;
  try {
    const get = async (port: number, path: string) => {
      for (let i = 0; ; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}${path}`);
          return { status: res.status, text: await res.text() };
        } catch (err) {
          if (i > 100) throw err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    };
    const health = await get(base + 1, '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.text), { status: 'ok', role: 'coordinator' });
    const before = parseExposition((await get(base + 1, '/metrics')).text);
    assert.equal(sampleValue(before, 'encourage_workers', { experiment: 'metrics-pod' }), 0);

    pod = startCli(['worker', '--coordinator', `127.0.0.1:${base}`, '--local-procs', '2', '--pod', 'pod-a', '--join-token', token, '--metrics-port', String(base + 2), '--metrics-host', '127.0.0.1', '--log-level', 'info']);
    // Each process of the pod serves its own port: base port + local index.
    const ranks = new Set<number>();
    for (const port of [base + 2, base + 3]) {
      assert.deepEqual(JSON.parse((await get(port, '/healthz')).text), { status: 'ok', role: 'worker' });
      for (let i = 0; i < 200; i++) {
        const samples = parseExposition((await get(port, '/metrics')).text);
        const rank = samples.find((s) => s.name === 'encourage_worker_rank' && s.labels['experiment'] === 'metrics-pod');
        if (rank !== undefined && rank.value >= 0) {
          ranks.add(rank.value);
          assert.equal(sampleValue(samples, 'encourage_worker_world_size', { experiment: 'metrics-pod' }), 2);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.deepEqual([...ranks].sort(), [0, 1], 'both ranks report on their own ports');
    const coordinatorText = (await get(base + 1, '/metrics')).text;
    assert.equal(sampleValue(parseExposition(coordinatorText), 'encourage_workers', { experiment: 'metrics-pod' }), 2);
    for (const port of [base + 1, base + 2, base + 3]) {
      for (const path of ['/metrics', '/healthz']) assert.ok(!(await get(port, path)).text.includes(token), `:${port}${path} leaks the join token`);
    }
    const podDone = await pod.done;
    assert.equal(podDone.code, 0, podDone.stderr.slice(-2000));
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-2000));
    assert.ok(!done.stderr.includes(token) && !podDone.stderr.includes(token), 'logs never contain the join token');
  } finally {
    pod?.child.kill('SIGTERM');
    coordinator.child.kill('SIGTERM');
  }
});
