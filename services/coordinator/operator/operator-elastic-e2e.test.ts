/**
 * Elastic membership end to end (fake API server, `encourage operator` process, fake kubelet with
 * real coordinator and worker processes): a deleted worker pod is recreated by the operator and
 * rejoins the ring, and `kubectl scale` (the scale subresource) adds a worker that joins at a step
 * boundary — the coordinator's re-rendezvous machinery doing the ring's part.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Experiment } from './experiment-types.js';
import { EXP, MERGE_PATCH, startFakeCluster, type FakeCluster } from './testing/fake-cluster.js';
import { CLI_MAIN, startOperatorProcess, type OperatorProcess } from './testing/operator-process.js';

const NS = 'default';
let cluster: FakeCluster;
let operator: OperatorProcess;

before(async () => {
  cluster = await startFakeCluster({ root: await mkdtemp(join(tmpdir(), 'op-elastic-')), kubeletCli: CLI_MAIN });
  operator = await startOperatorProcess(cluster);
});

after(async () => {
  const res = await operator.stop();
  await cluster.stop();
  assert.equal(res.code, 0, operator.log().slice(-3000));
});

function diagnose(name: string): string {
  const pods = ['coordinator', 'worker-0', 'worker-1', 'worker-2'].map((p) => `--- ${p}\n${cluster.kubelet!.logs(NS, `${name}-${p}`).slice(-1500)}`);
  return `--- operator\n${operator.log().slice(-2000)}\n${pods.join('\n')}`;
}

async function phaseOf(name: string, phase: string, timeoutMs: number): Promise<Experiment> {
  return cluster
    .waitFor(`${name} to be ${phase}`, async () => {
      const e = await cluster.getExperiment(NS, name);
      return e?.status?.phase === phase ? e : undefined;
    }, timeoutMs)
    .catch((err: Error) => Promise.reject(new Error(`${err.message}\n${diagnose(name)}`)));
}

test('elastic: a deleted worker pod is recreated and rejoins; kubectl scale adds a worker at a step boundary', { timeout: 120_000 }, async () => {
  await cluster.createExperiment(NS, {
    metadata: { name: 'elastic' },
    spec: { dataset: { source: 'synthetic', syntheticTrain: 512, syntheticTest: 256 }, model: 'cnn-small', loss: { preset: 'el' }, epochs: 5, batchSize: 16, seed: 1, workers: { replicas: 2, minReplicas: 1, maxReplicas: 3 } },
  });
  await cluster.waitFor('elastic to train', async () => ((await cluster.getExperiment(NS, 'elastic'))?.status?.step ?? 0) >= 16, 60_000).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${diagnose('elastic')}`)));
  const before = (await cluster.core.readNamespacedPod({ namespace: NS, name: 'elastic-worker-1' })).metadata!.uid;
  await cluster.core.deleteNamespacedPod({ namespace: NS, name: 'elastic-worker-1' });
  await cluster.waitFor('worker-1 recreated', async () => {
    const p = await cluster.core.readNamespacedPod({ namespace: NS, name: 'elastic-worker-1' }).catch(() => null);
    return p !== null && p.metadata!.uid !== before && p.status?.phase === 'Running';
  }, 60_000);
  await cluster.custom.patchNamespacedCustomObjectScale({ ...EXP, namespace: NS, name: 'elastic', body: { spec: { replicas: 3 } } }, MERGE_PATCH);
  const done = await phaseOf('elastic', 'Succeeded', 100_000);
  assert.equal(done.status!.epoch, 5);
  const summary = JSON.parse(cluster.kubelet!.logs(NS, 'elastic-coordinator').trim().split('\n').filter((l) => l.startsWith('{"status"')).at(-1)!) as { workers: number; restarts: number; resizes: number };
  assert.equal(summary.workers, 3, 'the run ended with the third worker in the ring');
  assert.ok(summary.resizes >= 2, `the ring re-formed without the deleted worker and again with the new ones: ${JSON.stringify(summary)}`);
  assert.equal(done.status!.restarts, summary.restarts, 'status.restarts is the coordinator’s count');
  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'elastic' });
});
