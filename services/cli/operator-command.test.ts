/**
 * `encourage operator` as a process: bad flags exit 2 naming the value; with the API server
 * unreachable it keeps retrying, reports NOT_SERVING, and still stops cleanly on SIGTERM. (The
 * end-to-end test, services/coordinator/operator/operator-e2e.test.ts, runs it against a fake
 * cluster.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeHealth } from '../coordinator/health-probe.js';
import { ConfigError } from '../core/errors.js';
import { lastJsonLine, startCli } from './cli-harness.js';
import { buildProgram } from './program.js';

test('bad flags are ConfigErrors naming the value (exit code 2 in main)', async () => {
  for (const [args, pattern] of [
    [['--namespace', 'Not_A_Namespace'], /invalid namespace: "Not_A_Namespace"/],
    [['--health-port', '70000'], /invalid healthPort: "70000"/],
    [['--resync-seconds', '0'], /invalid resyncSeconds: "0"/],
    [['--metrics-port', 'x'], /invalid metrics-port: "x"/],
    [['--default-backend', 'cuda'], /invalid defaultBackend: "cuda" \(expected auto\|tensorflow\|webgpu\|wasm\|cpu\)/],
  ] as [string[], RegExp][]) {
    await assert.rejects(buildProgram().parseAsync(['operator', ...args], { from: 'user' }), (err: unknown) => err instanceof ConfigError && pattern.test(err.message));
  }
});

test('an unreachable API server: NOT_SERVING while it retries, and SIGTERM still stops it cleanly', async () => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => resolve(p));
    });
  });
  const dir = await mkdtemp(join(tmpdir(), 'op-cli-'));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:${port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user: {}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n`);
  const op = startCli(['operator', '--kubeconfig', kubeconfig, '--health-host', '127.0.0.1', '--health-port', '0', '--metrics-port', 'off', '--namespace', 'a,b']);
  let stderr = '';
  op.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 15_000;
  while (!/"healthPort":\d+/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const healthPort = /"healthPort":(\d+)/.exec(stderr)![1];
  while (!/list\/watch failed; restarting/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.match(stderr, /list\/watch failed; restarting/);
  assert.equal(await probeHealth(`127.0.0.1:${healthPort}`, { timeoutMs: 2000 }), 'NOT_SERVING');
  op.child.kill('SIGTERM');
  const res = await op.done;
  assert.equal(res.code, 0, res.stderr.slice(-2000));
  assert.deepEqual(lastJsonLine(res.stdout), { stopped: true, synced: false, experiments: 0, healthPort: Number(healthPort), metricsPort: null });
});
