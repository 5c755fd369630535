/**
 * What pods run: `encourage coordinator` and a multi-process worker pod (`encourage worker
 * --local-procs 2`), as real processes on loopback with a join token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastJsonLine, runCli, startCli } from './cli-harness.js';
import { collectivePortFlag } from './worker-command.js';
import { freePort } from '../core/net/free-port.js';

test('encourage coordinator + encourage worker --local-procs 2 complete a run; a wrong token is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pod-'));
  const port = await freePort();
  // Pods start in any order: this worker starts before the coordinator exists and must wait for it
  // (then be refused for its wrong token), not fail with UNAVAILABLE.
  const early = startCli(['worker', '--coordinator', `127.0.0.1:${port}`, '--local-procs', '1', '--join-token', 'not-the-token', '--log-level', 'silent']);
  await new Promise((r) => setTimeout(r, 1500));
  const coordinator = startCli([
    'coordinator', '--host', '127.0.0.1', '--port', String(port), '--min-workers', '2', '--max-workers', '2', '--join-token', 'pod-test-token',
    '--data', 'synthetic', '--synthetic-train', '128', '--synthetic-test', '32', '--model', 'cnn-small', '--epochs', '1', '--batch-size', '16',
    '--experiment', 'pod', '--run-dir', dir, '--log-level', 'warn',
  ]);
  try {
  const intruder = await early.done;
  assert.notEqual(intruder.code, 0, 'a worker without the token cannot join');
  assert.match(intruder.stderr, /join rejected|PERMISSION_DENIED/);
  const pod = await runCli(['worker', '--coordinator', `127.0.0.1:${port}`, '--local-procs', '2', '--pod', 'pod-a', '--join-token', 'pod-test-token', '--log-level', 'warn']);
  assert.equal(pod.code, 0, pod.stderr.slice(-2000));
  const results = pod.stdout.trim().split('\n').map((l) => JSON.parse(l) as { rank: number; worldSize: number; steps: number });
  assert.deepEqual(results.map((r) => r.rank).sort(), [0, 1]);
  assert.ok(results.every((r) => r.worldSize === 2 && r.steps === 4));
  const done = await coordinator.done;
  assert.equal(done.code, 0, done.stderr.slice(-2000));
  const summary = lastJsonLine<{ workers: number; epochs: number; testAccuracy: number; report: string | null }>(done.stdout);
  assert.equal(summary.workers, 2);
  assert.equal(summary.report, join(dir, 'report', 'index.html'), 'the coordinator writes the run report after the summary');
  assert.ok(existsSync(summary.report));
  assert.equal(summary.epochs, 1);
  assert.ok(summary.testAccuracy >= 0 && summary.testAccuracy <= 1);
  } finally {
    coordinator.child.kill('SIGKILL');
  }
});

test('with --local-procs K and a fixed --collective-port P, process i listens on P + i (the ports pods declare)', () => {
  assert.deepEqual(collectivePortFlag({ collectivePort: '7071' }, 0), ['--collective-port', '7071']);
  assert.deepEqual(collectivePortFlag({ collectivePort: '7071' }, 3), ['--collective-port', '7074']);
  assert.deepEqual(collectivePortFlag({}, 1), [], 'ephemeral stays ephemeral');
  assert.deepEqual(collectivePortFlag({ collectivePort: '0' }, 1), []);
});
