/**
 * Test harness: `encourage operator` as a real process against a fake cluster (its
 * ServiceAccount's kubeconfig, health and metrics on ephemeral loopback ports, pods told to bind
 * their pod IPs because the fake kubelet's pods share the host network namespace).
 */
import { CLI_MAIN, startCli } from '../../../cli/cli-harness.js';
import { probeHealth } from '../../health-probe.js';
import type { FakeCluster } from './fake-cluster.js';

export { CLI_MAIN };

export interface OperatorProcess {
  readonly healthAddress: string;
  /** Everything it logged so far. */
  log(): string;
  readonly alive: () => boolean;
  /** SIGTERM; resolves with its exit code and last stdout line. */
  stop(): Promise<{ code: number | null; lastLine: string }>;
}

export async function startOperatorProcess(cluster: FakeCluster, extraArgs: string[] = []): Promise<OperatorProcess> {
  const op = startCli(['operator', '--kubeconfig', cluster.operatorKubeconfigFile, '--health-host', '127.0.0.1', '--health-port', '0', '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--bind-pod-ip', '--resync-seconds', '20', ...extraArgs]);
  let log = '';
  op.child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  // A test that times out never reaches its `after`: do not leave the operator running.
  const reap = () => op.child.kill('SIGKILL');
  process.once('exit', reap);
  void op.done.then(() => process.off('exit', reap));
  const port = await cluster.waitFor('the operator to listen', () => /"healthPort":(\d+)/.exec(log)?.[1], 20_000);
  const healthAddress = `127.0.0.1:${port}`;
  await cluster.waitFor('the operator to be SERVING', async () => (await probeHealth(healthAddress, { timeoutMs: 1000 }).catch(() => 'down')) === 'SERVING');
  return {
    healthAddress,
    log: () => log,
    alive: () => op.child.exitCode === null && op.child.signalCode === null,
    stop: async () => {
      op.child.kill('SIGTERM');
      const res = await op.done;
      return { code: res.code, lastLine: res.stdout.trim().split('\n').at(-1) ?? '' };
    },
  };
}
