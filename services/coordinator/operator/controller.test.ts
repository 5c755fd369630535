/**
 * The operator's controller in-process against the fake API server (no kubelet: the tests play
 * the kubelet by writing pod status), with RBAC limited to the operator's documented rules:
 * lifecycle and status, failed-pod replacement and the backoff limit, resizing through the scale
 * subresource, the deadline, a fixed invalid spec, and recovery from API errors, dropped watches
 * and compacted resourceVersions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { ExperimentController } from './controller.js';
import { ANNOTATION_FAILED_PODS, EXPERIMENT_FINALIZER, type Experiment } from './experiment-types.js';
import { EXP, MERGE_PATCH, OPERATOR_USER, startFakeCluster, type FakeCluster } from './testing/fake-cluster.js';
import { silentLogger } from '../../core/logging.js';

const NS = 'lab';
let cluster: FakeCluster;
let controller: ExperimentController;

before(async () => {
  cluster = await startFakeCluster({ root: await mkdtemp(join(tmpdir(), 'op-ctl-')), bookmarkIntervalMs: 200 });
  controller = new ExperimentController(
    cluster.operatorKubeConfig,
    { namespaces: null, resyncMs: 5000, concurrency: 2, watchTimeoutSeconds: 5, retryBaseDelayMs: 50, settings: { image: 'img:t', gpuImage: 'gpu:t', defaultBackend: 'auto', coordinatorServiceAccount: 'encourage-coordinator', bindPodIp: false, tls: null } },
    silentLogger,
  );
  await controller.start();
});

after(async () => {
  await controller.stop();
  await cluster.stop();
});

const spec = (workers: object = { replicas: 2 }, extra: object = {}) => ({ dataset: { source: 'synthetic' }, model: 'cnn-small', epochs: 1, workers, ...extra });
const pods = async (exp: string) => (await cluster.core.listNamespacedPod({ namespace: NS, labelSelector: `encourage.dev/experiment=${exp}` })).items;
const names = async (exp: string) => (await pods(exp)).map((p) => p.metadata!.name!).sort();
const experiment = async (name: string) => (await cluster.getExperiment(NS, name))!;

/** Play the kubelet: set a pod's phase (and exit code for terminated ones). */
async function setPhase(name: string, phase: 'Running' | 'Succeeded' | 'Failed', exitCode = phase === 'Succeeded' ? 0 : 1): Promise<V1Pod> {
  const terminated = phase !== 'Running';
  return cluster.core.patchNamespacedPodStatus({
    namespace: NS, name,
    body: { status: { phase, podIP: '10.0.0.9', conditions: [{ type: 'Ready', status: terminated ? 'False' : 'True' }], containerStatuses: [{ name: 'c', image: 'img:t', imageID: '', ready: !terminated, restartCount: 0, state: terminated ? { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', finishedAt: new Date().toISOString() } } : { running: {} } }] } },
  }, MERGE_PATCH);
}

async function waitPhase(name: string, phase: string): Promise<Experiment> {
  return cluster.waitFor(`${name} ${phase}`, async () => ((await experiment(name))?.status?.phase === phase ? experiment(name) : undefined));
}

test('lifecycle: objects with owner references, Running, a failed worker replaced, Succeeded, clean deletion', async () => {
  const created = await cluster.createExperiment(NS, { metadata: { name: 'life' }, spec: spec() });
  await cluster.waitFor('5 objects', async () => (await names('life')).length === 3 && (await cluster.core.listNamespacedService({ namespace: NS })).items.some((s) => s.metadata?.name === 'life-workers'));
  assert.deepEqual(await names('life'), ['life-coordinator', 'life-worker-0', 'life-worker-1']);
  for (const p of await pods('life')) assert.equal(p.metadata!.ownerReferences![0]!.uid, created.metadata.uid);
  const secret = await cluster.core.readNamespacedSecret({ namespace: NS, name: 'life-join-token' });
  assert.match(Buffer.from(secret.data!['token']!, 'base64').toString(), /^[0-9a-f]{64}$/);
  assert.ok((await experiment('life')).metadata.finalizers?.includes(EXPERIMENT_FINALIZER));
  const pending = await waitPhase('life', 'Pending');
  assert.deepEqual([pending.status!.ready, pending.status!.selector, pending.status!.observedGeneration], ['0/2', 'encourage.dev/experiment=life,app.kubernetes.io/component=worker', 1]);

  for (const p of await names('life')) await setPhase(p, 'Running');
  const run = await waitPhase('life', 'Running');
  assert.equal(run.status!.ready, '2/2');

  const failed = await setPhase('life-worker-1', 'Failed', 137);
  await cluster.waitFor('worker-1 replaced', async () => (await pods('life')).some((p) => p.metadata!.name === 'life-worker-1' && p.metadata!.uid !== failed.metadata!.uid));
  const restarting = await experiment('life');
  assert.equal(restarting.metadata.annotations?.[ANNOTATION_FAILED_PODS], failed.metadata!.uid);
  assert.equal(restarting.status!.phase, 'Restarting');
  await cluster.waitFor('a PodFailed event', async () => (await cluster.core.listNamespacedEvent({ namespace: NS })).items.some((e) => e.reason === 'PodFailed' && /life-worker-1 failed \(exit code 137/.test(e.message ?? '')));
  await setPhase('life-worker-1', 'Running');
  await waitPhase('life', 'Running');

  await setPhase('life-coordinator', 'Succeeded');
  const done = await waitPhase('life', 'Succeeded');
  assert.ok(done.status!.completionTime);
  await cluster.waitFor('running workers deleted (cleanPodPolicy Running)', async () => (await names('life')).join() === 'life-coordinator');

  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'life' });
  await cluster.waitFor('life gone', async () => (await cluster.getExperiment(NS, 'life')) === null);
  await cluster.waitFor('its objects gone', async () => (await names('life')).length === 0 && !(await cluster.core.listNamespacedSecret({ namespace: NS })).items.some((s) => s.metadata?.name === 'life-join-token'));
  assert.deepEqual(cluster.server.audit.filter((a) => a.user === OPERATOR_USER && (a.code === 403 || a.code === 401)), [], 'the documented rules suffice');
});

test('success is recorded before cleanPodPolicy All deletes the pods (a conflicting status write recreates nothing)', async () => {
  await cluster.createExperiment(NS, { metadata: { name: 'tidy' }, spec: spec({ replicas: 1 }, { runPolicy: { cleanPodPolicy: 'All' } }) });
  await cluster.waitFor('pods', async () => (await names('tidy')).length === 2);
  for (const p of await names('tidy')) await setPhase(p, 'Running');
  await waitPhase('tidy', 'Running');
  const podCreates = () => cluster.server.audit.filter((a) => a.verb === 'create' && a.resource === 'pods' && a.name?.startsWith('tidy-') && a.code === 201).length;
  // The operator's status write of the success conflicts once (the coordinator wrote in between).
  cluster.server.faults.push({ verb: 'patch', resource: 'experiments/status', code: 409, times: 1 });
  await setPhase('tidy-coordinator', 'Succeeded');
  await waitPhase('tidy', 'Succeeded');
  await cluster.waitFor('all pods deleted', async () => (await names('tidy')).length === 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(podCreates(), 2, 'nothing recreated after the run succeeded');
  assert.equal(cluster.server.faults.at(-1)!.times, 0, 'the conflict happened');
  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'tidy' });
});

test('kubectl scale: the scale subresource resizes the worker set within min/max', async () => {
  await cluster.createExperiment(NS, { metadata: { name: 'elastic' }, spec: spec({ replicas: 2, minReplicas: 1, maxReplicas: 3 }) });
  await cluster.waitFor('2 workers', async () => (await names('elastic')).length === 3);
  await cluster.custom.patchNamespacedCustomObjectScale({ ...EXP, namespace: NS, name: 'elastic', body: { spec: { replicas: 3 } } }, MERGE_PATCH);
  await cluster.waitFor('worker-2', async () => (await names('elastic')).includes('elastic-worker-2'));
  const up = await cluster.waitFor('status follows', async () => ((await experiment('elastic')).status?.workersDesired === 3 ? experiment('elastic') : undefined));
  assert.deepEqual([up.metadata.generation, up.status!.observedGeneration, up.status!.ready], [2, 2, '0/3']);
  const scale = (await cluster.custom.getNamespacedCustomObjectScale({ ...EXP, namespace: NS, name: 'elastic' })) as { spec: { replicas: number }; status: { selector: string } };
  assert.deepEqual([scale.spec.replicas, scale.status.selector], [3, 'encourage.dev/experiment=elastic,app.kubernetes.io/component=worker']);
  await cluster.custom.patchNamespacedCustomObjectScale({ ...EXP, namespace: NS, name: 'elastic', body: { spec: { replicas: 1 } } }, MERGE_PATCH);
  await cluster.waitFor('scaled down to worker-0', async () => (await names('elastic')).join() === 'elastic-coordinator,elastic-worker-0');
  // Outside [min, max] the schema cannot stop it (no CEL here); the operator reports and does not apply it.
  await cluster.custom.patchNamespacedCustomObjectScale({ ...EXP, namespace: NS, name: 'elastic', body: { spec: { replicas: 7 } } }, MERGE_PATCH);
  const invalid = await cluster.waitFor('Invalid condition', async () => (await experiment('elastic')).status?.conditions?.find((c) => c.type === 'Invalid' && c.status === 'True'));
  assert.match(invalid.message, /spec\.workers\.replicas: 7/);
  assert.deepEqual(await names('elastic'), ['elastic-coordinator', 'elastic-worker-0']);
  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'elastic' });
});

test('backoffLimit 0: the first failure fails the run and stops the rest', async () => {
  await cluster.createExperiment(NS, { metadata: { name: 'fragile' }, spec: spec({ replicas: 2 }, { runPolicy: { backoffLimit: 0 } }) });
  await cluster.waitFor('pods', async () => (await names('fragile')).length === 3);
  for (const p of await names('fragile')) await setPhase(p, 'Running');
  await waitPhase('fragile', 'Running');
  await setPhase('fragile-worker-0', 'Failed', 1);
  const failed = await waitPhase('fragile', 'Failed');
  assert.equal(failed.status!.conditions!.find((c) => c.type === 'Failed')!.reason, 'BackoffLimitExceeded');
  await cluster.waitFor('running pods deleted, the failed one kept', async () => (await names('fragile')).join() === 'fragile-worker-0');
  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'fragile' });
});

test('activeDeadlineSeconds fails a run that outlives it (a timed requeue, no event needed)', async () => {
  const t0 = Date.now();
  await cluster.createExperiment(NS, { metadata: { name: 'deadline' }, spec: spec({ replicas: 1 }, { runPolicy: { activeDeadlineSeconds: 2 } }) });
  await waitPhase('deadline', 'Pending');
  const failed = await waitPhase('deadline', 'Failed');
  assert.equal(failed.status!.conditions!.find((c) => c.type === 'Failed')!.reason, 'DeadlineExceeded');
  // startTime is stored in whole seconds (metav1.Time), so the deadline may come up to 1 s early.
  assert.ok(Date.now() - t0 >= 1000, `failed after ${Date.now() - t0} ms`);
  assert.ok(Date.parse(failed.status!.conditions!.find((c) => c.type === 'Failed')!.lastTransitionTime) - Date.parse(failed.status!.startTime!) >= 2000);
  await cluster.waitFor('its pods stopped', async () => (await names('deadline')).length === 0);
  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'deadline' });
});

test('an invalid spec, fixed by an edit, starts the run', async () => {
  await cluster.createExperiment(NS, { metadata: { name: 'fixme' }, spec: spec({ replicas: 3, maxReplicas: 2 }) });
  const failed = await waitPhase('fixme', 'Failed');
  assert.match(failed.status!.conditions!.find((c) => c.type === 'Invalid')!.message, /^invalid spec\.workers\.replicas: 3/);
  assert.equal((await names('fixme')).length, 0);
  await cluster.custom.patchNamespacedCustomObject({ ...EXP, namespace: NS, name: 'fixme', body: { spec: { workers: { maxReplicas: 3 } } } }, MERGE_PATCH);
  await cluster.waitFor('pods of the fixed spec', async () => (await names('fixme')).length === 4);
  const revived = await waitPhase('fixme', 'Pending');
  assert.equal(revived.status!.conditions!.find((c) => c.type === 'Invalid')!.status, 'False');
  await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name: 'fixme' });
  await cluster.waitFor('fixme gone', async () => (await cluster.getExperiment(NS, 'fixme')) === null);
});

test('API errors back off per experiment; dropped watches, a compacted history and a failing watch endpoint are survived', async () => {
  // Pod creation fails twice with 500: that experiment retries with backoff, the other is not held up.
  cluster.server.faults.push({ verb: 'create', resource: 'pods', code: 500, times: 2 });
  await cluster.createExperiment(NS, { metadata: { name: 'flaky' }, spec: spec({ replicas: 1 }) });
  await cluster.createExperiment(NS, { metadata: { name: 'steady' }, spec: spec({ replicas: 1 }) });
  await cluster.waitFor('both reconciled', async () => (await names('flaky')).length === 2 && (await names('steady')).length === 2);
  assert.equal(cluster.server.audit.filter((a) => a.verb === 'create' && a.resource === 'pods' && a.code === 500).length, 2);
  // The watches break, the history they would resume from is compacted away, and the next watches fail.
  const relistsBefore = cluster.server.audit.filter((a) => a.user === OPERATOR_USER && a.verb === 'list').length;
  cluster.server.faults.push({ verb: 'watch', code: 503, times: 3 });
  cluster.server.store.compact();
  cluster.server.dropWatches();
  await cluster.createExperiment(NS, { metadata: { name: 'after-outage' }, spec: spec({ replicas: 1 }) });
  await cluster.waitFor('reconciled after the outage', async () => (await names('after-outage')).length === 2, 30_000);
  // The relists race the reconcile they enable (other informers resume on their own schedules): wait for them.
  await cluster.waitFor('informers relisted after 410 Expired', async () => cluster.server.audit.filter((a) => a.user === OPERATOR_USER && a.verb === 'list').length > relistsBefore, 10_000);
  assert.ok(cluster.server.audit.some((a) => a.verb === 'watch' && a.code === 410), 'a watch from a compacted resourceVersion got 410');
  const text = await controller.metrics.registry.metrics();
  assert.match(text, /encourage_operator_informer_restarts_total\{resource="\w+"\} [1-9]/);
  assert.match(text, /encourage_operator_reconciles_total\{result="error"\} [1-9]/);
  for (const name of ['flaky', 'steady', 'after-outage']) await cluster.custom.deleteNamespacedCustomObject({ ...EXP, namespace: NS, name });
  await cluster.waitFor('all gone', async () => (await pods('flaky')).length + (await pods('steady')).length + (await pods('after-outage')).length === 0);
});
