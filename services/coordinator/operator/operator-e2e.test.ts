/**
 * End to end without a cluster: the fake API server (real client-node protocol, the shipped CRD as
 * admission, RBAC with the documented rules), `encourage operator` as a process, and a fake kubelet
 * that runs every pod the operator creates as a real `encourage coordinator` / `encourage worker`
 * process. An Experiment goes from `kubectl create` to Succeeded with the coordinator writing its
 * progress into the status; an invalid one fails with a condition naming the field; deleting a
 * running one takes the finalizer path (coordinator first, SIGTERM, final checkpoint).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetrics } from '../../core/training/run-dir.js';
import { probeHealth } from '../health-probe.js';
import { EXPERIMENT_FINALIZER, type Experiment } from './experiment-types.js';
import { coordinatorUser, OPERATOR_USER, startFakeCluster, type FakeCluster } from './testing/fake-cluster.js';
import { CLI_MAIN, startOperatorProcess, type OperatorProcess } from './testing/operator-process.js';

let cluster: FakeCluster;
let operator: OperatorProcess;

const NS = 'default';
const smallRun = (name: string, epochs: number, extra: Record<string, unknown> = {}) => ({
  metadata: { name, namespace: NS },
  spec: {
    dataset: { source: 'synthetic', syntheticTrain: 512, syntheticTest: 256 },
    model: 'cnn-small',
    loss: { preset: 'el' },
    epochs,
    batchSize: 32,
    seed: 1,
    workers: { replicas: 2 },
    checkpoint: { pvc: { claimName: `${name}-ckpt` } },
    ...extra,
  },
});

before(async () => {
  cluster = await startFakeCluster({ root: await mkdtemp(join(tmpdir(), 'op-e2e-')), kubeletCli: CLI_MAIN });
  operator = await startOperatorProcess(cluster);
});

after(async () => {
  const res = await operator.stop();
  await cluster.stop();
  assert.equal(res.code, 0, `operator exit\n${operator.log().slice(-3000)}`);
  assert.match(res.lastLine, /"stopped":true/);
});

/** Diagnostics for a failed wait: the operator's and the pods' logs. */
function diagnose(name: string): string {
  const pods = [`${name}-coordinator`, `${name}-worker-0`, `${name}-worker-1`].map((p) => `--- ${p}\n${cluster.kubelet!.logs(NS, p).slice(-1500)}`);
  return `--- operator\n${operator.log().slice(-2000)}\n${pods.join('\n')}`;
}

async function phaseOf(name: string, phase: string, timeoutMs: number): Promise<Experiment> {
  try {
    return await cluster.waitFor(`${name} to be ${phase}`, async () => {
      const e = await cluster.getExperiment(NS, name);
      return e?.status?.phase === phase ? e : undefined;
    }, timeoutMs);
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${diagnose(name)}`);
  }
}

test('an Experiment runs to Succeeded: pods as processes, progress in the status, cleanPodPolicy All', { timeout: 90_000 }, async () => {
  const seen: string[] = [];
  await cluster.createExperiment(NS, smallRun('e2e', 2, { runPolicy: { cleanPodPolicy: 'All' } }));
  // Record the status as it changes: the coordinator's progress must show up while it runs.
  const sampler = setInterval(() => void cluster.getExperiment(NS, 'e2e').then((e) => e?.status && seen.push(`${e.status.phase}:${e.status.epoch ?? '-'}`)), 100);
  const done = await phaseOf('e2e', 'Succeeded', 80_000).finally(() => clearInterval(sampler));
  const s = done.status!;
  assert.equal(s.epoch, 2);
  assert.equal(s.step, 16, '512 images / (2 workers × 32) = 8 steps per epoch');
  assert.ok(typeof s.testAccuracy === 'number' && s.testAccuracy >= 0 && s.testAccuracy <= 1);
  assert.ok(s.bestTestAccuracy! >= s.testAccuracy);
  assert.equal(s.lastCheckpoint?.step, 16);
  assert.ok(s.startTime !== undefined && s.completionTime !== undefined && Date.parse(s.completionTime) >= Date.parse(s.startTime));
  assert.equal(s.observedGeneration, 1);
  const cond = Object.fromEntries(s.conditions!.map((c) => [c.type, c.status]));
  assert.deepEqual(cond, { Created: 'True', Running: 'False', Succeeded: 'True' });
  assert.ok(seen.some((x) => x.startsWith('Running:')), `phase Running was observed (${seen.join(' ')})`);
  assert.ok(seen.some((x) => x === 'Running:1' || x === 'Running:2'), 'progress arrived while the run was running');
  // The pods really ran and exited cleanly; then cleanPodPolicy All removed them.
  const creates = cluster.server.audit.filter((a) => a.user === OPERATOR_USER && a.verb === 'create' && a.resource === 'pods' && a.code === 201).map((a) => a.name);
  assert.equal(creates.length, 3, `one coordinator and two workers, never recreated: ${creates.join(', ')}`);
  const exits = cluster.kubelet!.exits.filter((x) => x.pod.startsWith('e2e-'));
  assert.deepEqual(exits.map((x) => `${x.pod}:${x.exitCode}`).sort(), ['e2e-coordinator:0', 'e2e-worker-0:0', 'e2e-worker-1:0']);
  await cluster.waitFor('cleanPodPolicy All to delete the pods', async () => (await cluster.core.listNamespacedPod({ namespace: NS, labelSelector: 'encourage.dev/experiment=e2e' })).items.length === 0);
  // The checkpoint is on the claim (the kubelet's host directory behind the PVC).
  const files = await readdir(join(cluster.root, 'pvc', NS, 'e2e-ckpt', 'e2e', 'checkpoints'));
  assert.ok(files.includes('ckpt-0000000016.ckpt'), files.join(','));
  // Who wrote what: the coordinator patched only experiments/status, with its own ServiceAccount.
  const audit = cluster.server.audit;
  assert.ok(audit.some((a) => a.user === coordinatorUser(NS) && a.verb === 'patch' && a.resource === 'experiments/status' && a.code === 200));
  assert.ok(audit.filter((a) => a.user === coordinatorUser(NS)).every((a) => a.resource === 'experiments/status'));
  assert.deepEqual(audit.filter((a) => a.code === 403 || a.code === 401 || a.code === 422), [], 'nothing was forbidden or rejected by admission');
  assert.ok(audit.some((a) => a.user === OPERATOR_USER && a.verb === 'watch' && a.query.includes('allowWatchBookmarks=true')));
  // Deleting it now is quick: nothing runs, the finalizer cleans up and GC does the rest.
  await cluster.custom.deleteNamespacedCustomObject({ group: 'encourage.dev', version: 'v1alpha1', plural: 'experiments', namespace: NS, name: 'e2e' });
  await cluster.waitFor('e2e to be gone', async () => (await cluster.getExperiment(NS, 'e2e')) === null);
  await cluster.waitFor('its Services and Secret to be gone', async () =>
    (await cluster.core.listNamespacedService({ namespace: NS, labelSelector: 'encourage.dev/experiment=e2e' })).items.length === 0 &&
    (await cluster.core.listNamespacedSecret({ namespace: NS, labelSelector: 'encourage.dev/experiment=e2e' })).items.length === 0);
});

test('an invalid spec fails with a condition naming the field; nothing is created; the operator keeps serving', { timeout: 30_000 }, async () => {
  // Cross-field rules the CRD schema cannot express: caught by the operator's own validation.
  await cluster.createExperiment(NS, smallRun('bad-loss', 1, { loss: { preset: 'mse', options: { bonus: 'log' } } }));
  const failed = await phaseOf('bad-loss', 'Failed', 15_000);
  const invalid = failed.status!.conditions!.find((c) => c.type === 'Invalid');
  assert.equal(invalid?.status, 'True');
  assert.match(invalid!.message, /^invalid spec\.loss\.options\.bonus: "log" \(expected 'none' or 'power'/);
  assert.equal(failed.status!.conditions!.find((c) => c.type === 'Failed')?.reason, 'InvalidSpec');
  assert.equal(failed.metadata.finalizers, undefined, 'no finalizer: there is nothing to clean up');
  const owned = await cluster.core.listNamespacedPod({ namespace: NS, labelSelector: 'encourage.dev/experiment=bad-loss' });
  assert.equal(owned.items.length, 0);
  await cluster.waitFor('a Warning event InvalidSpec', async () => (await cluster.core.listNamespacedEvent({ namespace: NS })).items.some((e) => e.involvedObject.name === 'bad-loss' && e.reason === 'InvalidSpec' && e.type === 'Warning'));
  await cluster.createExperiment(NS, smallRun('bad-size', 1, { workers: { replicas: 3, maxReplicas: 2 } }));
  const tooMany = await phaseOf('bad-size', 'Failed', 15_000);
  assert.match(tooMany.status!.conditions!.find((c) => c.type === 'Invalid')!.message, /^invalid spec\.workers\.replicas: 3 \(expected an integer in \[minReplicas 2, maxReplicas 2\]\)/);
  assert.ok(operator.alive(), 'the operator did not crash');
  assert.equal(await probeHealth(operator.healthAddress, { timeoutMs: 2000 }), 'SERVING');
  for (const name of ['bad-loss', 'bad-size']) await cluster.custom.deleteNamespacedCustomObject({ group: 'encourage.dev', version: 'v1alpha1', plural: 'experiments', namespace: NS, name });
});

test('deleting a running Experiment: coordinator first (SIGTERM → final checkpoint, workers leave), then the workers\' pods, then the finalizer', { timeout: 90_000 }, async () => {
  // 2048 images, 2 workers × batch 8: 128 steps per epoch, so that the deletion below lands well
  // inside epoch 2, far from the routine end-of-epoch checkpoints (steps 128, 256, …).
  const stepsPerEpoch = 128;
  await cluster.createExperiment(NS, smallRun('stopme', 50, { batchSize: 8, dataset: { source: 'synthetic', syntheticTrain: 2048, syntheticTest: 256 } }));
  const running = await cluster.waitFor('stopme\'s first routine checkpoint', async () => {
    const e = await cluster.getExperiment(NS, 'stopme');
    return (e?.status?.lastCheckpoint?.step ?? 0) >= stepsPerEpoch ? e : undefined;
  }, 75_000).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${diagnose('stopme')}`)));
  assert.ok(running!.metadata.finalizers?.includes(EXPERIMENT_FINALIZER));
  const routine = running!.status!.lastCheckpoint!.step;
  assert.equal(routine % stepsPerEpoch, 0, 'routine checkpoints are taken at epoch ends');
  // Progress in the status is written at epoch ends; the run directory on the claim shows every
  // committed step. Delete once the ring is some steps past the routine checkpoint.
  const runDir = join(cluster.root, 'pvc', NS, 'stopme-ckpt', 'stopme');
  await cluster.waitFor('stopme to commit steps past its routine checkpoint', async () => (await lastStep(runDir)) >= routine + 8, 30_000);
  const deletedAt = Date.now();
  await cluster.custom.deleteNamespacedCustomObject({ group: 'encourage.dev', version: 'v1alpha1', plural: 'experiments', namespace: NS, name: 'stopme' });
  await cluster.waitFor('stopme to be gone', async () => (await cluster.getExperiment(NS, 'stopme')) === null, 60_000).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${diagnose('stopme')}`)));
  const exits = await cluster.waitFor('all three processes to exit', () => {
    const e = cluster.kubelet!.exits.filter((x) => x.pod.startsWith('stopme-'));
    return e.length === 3 ? e : undefined;
  });
  const coordinator = exits.find((x) => x.pod === 'stopme-coordinator')!;
  assert.equal(coordinator.terminated, true, 'the kubelet stopped the coordinator for the deletion');
  assert.equal(coordinator.exitCode, 143, 'the coordinator handled SIGTERM and exited with 143 (stopped, resumable)');
  // The operator deleted the coordinator first and the worker pods only once it had exited; the
  // workers either left when the coordinator stopped the ring (exit 0) or were stopped after it.
  const deletes = cluster.server.audit.filter((a) => a.user === OPERATOR_USER && a.verb === 'delete' && a.resource === 'pods' && a.name?.startsWith('stopme-') && a.atMs >= deletedAt);
  assert.equal(deletes[0]?.name, 'stopme-coordinator', `delete order: ${deletes.map((d) => d.name).join(', ')}`);
  const workerDeletes = deletes.filter((d) => d.name!.startsWith('stopme-worker-'));
  assert.ok(workerDeletes.length >= 2 && workerDeletes.every((d) => d.atMs >= coordinator.atMs), `workers deleted after the coordinator exited: ${JSON.stringify(deletes.map((d) => [d.name, d.atMs - coordinator.atMs]))}`);
  for (const w of exits.filter((x) => x.pod.startsWith('stopme-worker-'))) {
    assert.ok((w.exitCode === 0 && !w.terminated) || (w.terminated && w.atMs >= coordinator.atMs), `${w.pod}: ${JSON.stringify(w)}`);
  }
  // The stop-time checkpoint: taken at the step where the ring stopped (the summary's), mid-epoch,
  // newer than every routine one — not just the routine checkpoint the run already had.
  const summary = (await readMetrics(join(runDir, 'metrics.jsonl'))).filter((m) => m.type === 'summary').at(-1);
  assert.equal(summary?.['status'], 'stopped', JSON.stringify(summary));
  const stoppedAt = summary!['steps'] as number;
  const steps = (await readdir(join(runDir, 'checkpoints'))).map((f) => Number(/ckpt-(\d+)/.exec(f)?.[1]));
  const routines = steps.filter((s) => s % stepsPerEpoch === 0);
  assert.ok(stoppedAt >= routine + 8 && stoppedAt % stepsPerEpoch !== 0, `the ring stopped mid-epoch, past the deletion point (step ${stoppedAt})`);
  assert.equal(Math.max(...steps), stoppedAt, `newest checkpoint is the stop's: checkpoints ${steps.join(',')}, stopped at ${stoppedAt}`);
  assert.ok(stoppedAt > Math.max(...routines), `stop checkpoint ${stoppedAt} newer than the routine ones (${routines.join(',')})`);
  const pods = await cluster.core.listNamespacedPod({ namespace: NS, labelSelector: 'encourage.dev/experiment=stopme' });
  assert.equal(pods.items.length, 0);
});

/** Highest step recorded in a run directory's metrics.jsonl (0 before the first). */
async function lastStep(runDir: string): Promise<number> {
  try {
    return Math.max(0, ...(await readMetrics(join(runDir, 'metrics.jsonl'))).filter((m) => m.type === 'step').map((m) => m.step));
  } catch {
    return 0;
  }
}
