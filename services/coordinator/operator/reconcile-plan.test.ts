/** The reconcile decision and the finalizer, as pure functions of an Experiment and its pods. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANNOTATION_FAILED_PODS, EXPERIMENT_FINALIZER, rfc3339, type Experiment, type ExperimentStatus, type PodLike } from './experiment-types.js';
import { FINALIZE_TIMEOUT_MS } from './finalizer.js';
import { planReconcile, type ReconcileInput, type ReconcilePlan } from './reconcile-plan.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const settings = { image: 'img:1', gpuImage: 'gpu:1', defaultBackend: 'auto' as const, coordinatorServiceAccount: 'encourage-coordinator', bindPodIp: false, tls: null };

function experiment(spec: Record<string, unknown> = {}, status?: ExperimentStatus, meta: Partial<Experiment['metadata']> = {}): Experiment {
  return { apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', metadata: { name: 'x', namespace: 'ns', uid: 'U', generation: 1, resourceVersion: '10', finalizers: [EXPERIMENT_FINALIZER], ...meta }, spec: { workers: { replicas: 2 }, ...spec }, ...(status === undefined ? {} : { status }) };
}

function pod(name: string, phase: string, extra: { ready?: boolean; exitCode?: number; deleting?: boolean; index?: number; finishedAt?: string } = {}): PodLike {
  const index = extra.index ?? (/-worker-(\d+)$/.exec(name) ? Number(/-worker-(\d+)$/.exec(name)![1]) : undefined);
  return {
    metadata: { name, uid: `uid-${name}-${phase}`, labels: index === undefined ? {} : { 'encourage.dev/replica-index': String(index) }, ...(extra.deleting ? { deletionTimestamp: rfc3339(NOW) } : {}) },
    status: {
      phase,
      conditions: [{ type: 'Ready', status: extra.ready === false || phase !== 'Running' ? 'False' : 'True' }],
      ...(extra.exitCode === undefined ? {} : { containerStatuses: [{ name: 'c', state: { terminated: { exitCode: extra.exitCode, reason: extra.exitCode === 0 ? 'Completed' : 'Error', ...(extra.finishedAt === undefined ? {} : { finishedAt: extra.finishedAt }) } } }] }),
    },
  };
}

const objects = { services: [{ metadata: { name: 'x-coordinator' } }, { metadata: { name: 'x-workers' } }], secrets: [{ metadata: { name: 'x-join-token' } }] };
const running = (n = 2) => [pod('x-coordinator', 'Running'), ...Array.from({ length: n }, (_, i) => pod(`x-worker-${i}`, 'Running'))];

function plan(exp: Experiment, pods: PodLike[], extra: Partial<ReconcileInput> = {}): ReconcilePlan {
  return planReconcile({ experiment: exp, pods, ...objects, nowMs: NOW, settings, newToken: () => 'f'.repeat(64), ...extra });
}

const ops = (p: ReconcilePlan) => p.actions.map((a) => (a.op === 'create' ? `create ${a.resource} ${a.object.metadata!.name}` : `delete ${a.resource} ${a.name}`));
const conditions = (s: ExperimentStatus | null) => Object.fromEntries((s?.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

test('a new Experiment: finalizer first, then Secret, Services, coordinator and workers; status Pending', () => {
  const p = plan(experiment({}, undefined, { finalizers: [] }), [], { services: [], secrets: [] });
  assert.equal(p.finalizer, 'add');
  assert.deepEqual(ops(p), ['create secrets x-join-token', 'create services x-coordinator', 'create services x-workers', 'create pods x-coordinator', 'create pods x-worker-0', 'create pods x-worker-1']);
  assert.deepEqual({ ...p.status, conditions: conditions(p.status) }, {
    phase: 'Pending', conditions: { Created: 'True/ObjectsCreated' }, workersReady: 0, workersDesired: 2, ready: '0/2',
    selector: 'encourage.dev/experiment=x,app.kubernetes.io/component=worker', startTime: rfc3339(NOW), observedGeneration: 1,
  });
  assert.equal(p.events.filter((e) => e.reason === 'SuccessfulCreate').length, 6);
});

test('all pods running: Running, 2/2; the same observation again writes nothing (level-triggered, idempotent)', () => {
  const first = plan(experiment(), running());
  assert.deepEqual(ops(first), []);
  assert.equal(first.status?.phase, 'Running');
  assert.equal(first.status?.ready, '2/2');
  assert.equal(conditions(first.status)['Running'], 'True/Running');
  const again = plan(experiment({}, { ...first.status! }), running());
  assert.equal(again.status, null);
  assert.deepEqual([again.actions, again.events], [[], []]);
});

test('a failed worker is counted once (by UID), deleted, and recreated on a later pass', () => {
  const pods = [pod('x-coordinator', 'Running'), pod('x-worker-0', 'Running'), pod('x-worker-1', 'Failed', { exitCode: 137 })];
  const p = plan(experiment({}, { phase: 'Running' }), pods);
  assert.deepEqual(p.recordFailedPods, ['uid-x-worker-1-Failed']);
  assert.deepEqual(ops(p), ['delete pods x-worker-1']);
  assert.equal(p.status?.phase, 'Restarting');
  assert.match(p.events.find((e) => e.reason === 'PodFailed')!.message, /x-worker-1 failed \(exit code 137 \(Error\)\); replacing it \(failure 1 of backoffLimit 3\)/);
  // A retried pass (the annotation already has it) does not count it again.
  const retried = plan(experiment({}, { phase: 'Restarting' }, { annotations: { [ANNOTATION_FAILED_PODS]: 'uid-x-worker-1-Failed' } }), pods);
  assert.deepEqual(retried.recordFailedPods, []);
  // Terminating: wait. Gone: recreate.
  assert.deepEqual(ops(plan(experiment({}, { phase: 'Restarting' }), [pods[0]!, pods[1]!, pod('x-worker-1', 'Failed', { deleting: true })])), []);
  const recreate = plan(experiment({}, { phase: 'Restarting' }), pods.slice(0, 2));
  assert.deepEqual(ops(recreate), ['create pods x-worker-1']);
  assert.equal(recreate.status?.phase ?? 'Restarting', 'Restarting', 'one running worker is below minReplicas 2: still restarting');
  assert.equal(plan(experiment({}, { phase: 'Restarting' }), running()).status?.phase, 'Running', 'all back: Running');
});

test('backoffLimit: one failure too many fails the run; cleanPodPolicy Running deletes what still runs', () => {
  const pods = [pod('x-coordinator', 'Running'), pod('x-worker-0', 'Running'), pod('x-worker-1', 'Failed', { exitCode: 1 })];
  const p = plan(experiment({ runPolicy: { backoffLimit: 1 } }, { phase: 'Running' }, { annotations: { [ANNOTATION_FAILED_PODS]: 'old-uid' } }), pods);
  assert.equal(p.status?.phase, 'Failed');
  assert.equal(conditions(p.status)['Failed'], 'True/BackoffLimitExceeded');
  assert.match(p.status!.conditions!.find((c) => c.type === 'Failed')!.message, /2 pod failures exceed backoffLimit 1/);
  assert.deepEqual(ops(p).sort(), ['delete pods x-coordinator', 'delete pods x-worker-0'], 'the failed pod is kept for its logs');
  assert.equal(p.status?.completionTime, undefined, 'completionTime is for success (as for a Job)');
});

test('resize: replicas up creates the next index, down deletes the highest', () => {
  assert.deepEqual(ops(plan(experiment({ workers: { replicas: 3, maxReplicas: 4 } }, { phase: 'Running' }), running(2))), ['create pods x-worker-2']);
  const down = plan(experiment({ workers: { replicas: 1, minReplicas: 1, maxReplicas: 4 } }, { phase: 'Running' }), running(3));
  assert.deepEqual(ops(down), ['delete pods x-worker-1', 'delete pods x-worker-2']);
  assert.equal(down.status?.workersDesired, 1);
});

test('the coordinator succeeded: Succeeded with its finish time; cleanPodPolicy decides what is deleted', () => {
  const finishedAt = '2025-01-01T11:59:30Z';
  const pods = [pod('x-coordinator', 'Succeeded', { exitCode: 0, finishedAt }), pod('x-worker-0', 'Succeeded', { exitCode: 0 }), pod('x-worker-1', 'Running')];
  const p = plan(experiment({}, { phase: 'Running', startTime: '2025-01-01T11:00:00Z' }), pods);
  assert.deepEqual([p.status?.phase, p.status?.completionTime], ['Succeeded', finishedAt]);
  assert.deepEqual(conditions(p.status), { Created: 'True/ObjectsCreated', Succeeded: 'True/Completed' });
  assert.deepEqual(ops(p), ['delete pods x-worker-1']);
  assert.ok(p.events.some((e) => e.reason === 'Succeeded'));
  assert.deepEqual(ops(plan(experiment({ runPolicy: { cleanPodPolicy: 'All' } }, { phase: 'Running' }), pods)).length, 3);
  assert.deepEqual(ops(plan(experiment({ runPolicy: { cleanPodPolicy: 'None' } }, { phase: 'Running' }), pods)), []);
  // Once terminal, nothing is recreated.
  assert.deepEqual(ops(plan(experiment({}, p.status! as ExperimentStatus), [])), []);
});

test('workers done while the coordinator writes its summary: still Running, not Restarting', () => {
  const pods = [pod('x-coordinator', 'Running'), pod('x-worker-0', 'Succeeded', { exitCode: 0 }), pod('x-worker-1', 'Succeeded', { exitCode: 0 })];
  assert.equal(plan(experiment({}, { phase: 'Running' }), pods).status?.phase ?? 'Running', 'Running');
  // A deleted (not failed) worker of a running run: Restarting until it is back.
  assert.equal(plan(experiment({}, { phase: 'Running' }), running(2).slice(0, 2)).status?.phase, 'Restarting');
});

test('activeDeadlineSeconds: a requeue for the deadline, then Failed and running pods stopped whatever the policy', () => {
  const start = rfc3339(NOW - 30_000);
  const early = plan(experiment({ runPolicy: { activeDeadlineSeconds: 60, cleanPodPolicy: 'None' } }, { phase: 'Running', startTime: start }), running());
  assert.equal(early.requeueAfterMs, 30_000);
  const late = plan(experiment({ runPolicy: { activeDeadlineSeconds: 20, cleanPodPolicy: 'None' } }, { phase: 'Running', startTime: start }), running());
  assert.equal(conditions(late.status)['Failed'], 'True/DeadlineExceeded');
  assert.equal(ops(late).length, 3);
});

test('an invalid spec: Failed before it ever ran; reported but not applied while running; revived once fixed', () => {
  const bad = { optimizer: { lr: 0 } };
  const p = plan(experiment(bad, undefined, { finalizers: [] }), [], { services: [], secrets: [] });
  assert.deepEqual([p.status?.phase, conditions(p.status)], ['Failed', { Invalid: 'True/InvalidSpec', Failed: 'True/InvalidSpec' }]);
  assert.match(p.status!.conditions![0]!.message, /^invalid spec\.optimizer\.lr: 0 \(expected a number > 0\)$/);
  assert.deepEqual([p.actions, p.finalizer], [[], null]);
  assert.equal(p.events[0]?.reason, 'InvalidSpec');
  assert.deepEqual(plan(experiment(bad, p.status!, { finalizers: [] }), [], { services: [], secrets: [] }).events, [], 'the same message is not repeated');
  const whileRunning = plan(experiment({ workers: { replicas: 9, maxReplicas: 4 } }, { phase: 'Running', startTime: rfc3339(NOW) }), running());
  assert.deepEqual([conditions(whileRunning.status)['Invalid'], whileRunning.actions], ['True/InvalidSpec', []]);
  assert.equal(whileRunning.status!.phase, undefined, 'the phase is left as it is (Running)');
  const fixed = plan(experiment({}, p.status!, { finalizers: [], generation: 2 }), [], { services: [], secrets: [] });
  assert.equal(fixed.status?.phase, 'Pending');
  assert.deepEqual(conditions(fixed.status), { Invalid: 'False/SpecValid', Failed: 'False/NotFailed', Created: 'True/ObjectsCreated' });
  assert.equal(fixed.actions.length, 6);
  assert.equal(fixed.status?.observedGeneration, 2);
});

test('the operator\'s default backend applies to specs without one: the GPU rule and the pods follow it', () => {
  const gpus = (n: number) => experiment({ workers: { replicas: 2, gpusPerPod: n } }, undefined, { finalizers: [] });
  const webgpu = { settings: { ...settings, defaultBackend: 'webgpu' as const }, services: [], secrets: [] };
  const refused = plan(gpus(2), [], webgpu);
  assert.equal(refused.status?.phase, 'Failed');
  assert.match(refused.status!.conditions![0]!.message, /^invalid spec\.workers\.gpusPerPod: 2 \(expected at most 1 with backend webgpu \(the operator's default backend/);
  const coordinatorArgs = (p: ReconcilePlan) => {
    const a = p.actions.find((x) => x.op === 'create' && x.object.metadata!.name === 'x-coordinator' && x.resource === 'pods');
    return (a as { object: { spec: { containers: { args: string[] }[] } } }).object.spec.containers[0]!.args;
  };
  const args = coordinatorArgs(plan(gpus(1), [], webgpu));
  assert.deepEqual(args.slice(args.indexOf('--backend'), args.indexOf('--backend') + 2), ['--backend', 'webgpu']);
  // With the default (auto), the same spec with several GPUs runs on tfjs-node-gpu once it says so.
  const tf = coordinatorArgs(plan(experiment({ backend: 'tensorflow', workers: { replicas: 2, gpusPerPod: 2 } }, undefined, { finalizers: [] }), [], { services: [], secrets: [] }));
  assert.deepEqual(tf.slice(tf.indexOf('--backend'), tf.indexOf('--backend') + 2), ['--backend', 'tensorflow']);
});

test('finalizer: coordinator first and alone; then everything else and the finalizer; a stuck coordinator times out', () => {
  const deleting = (sinceMs: number, status?: ExperimentStatus) => experiment({}, status ?? { phase: 'Running' }, { deletionTimestamp: rfc3339(sinceMs) });
  const first = plan(deleting(NOW), running());
  assert.deepEqual([ops(first), first.finalizer, first.requeueAfterMs! > 0], [['delete pods x-coordinator'], null, true]);
  assert.equal(first.events[0]?.reason, 'FinalCheckpoint');
  const waiting = plan(deleting(NOW), [pod('x-coordinator', 'Running', { deleting: true }), ...running().slice(1)]);
  assert.deepEqual([ops(waiting), waiting.finalizer], [[], null]);
  const done = plan(deleting(NOW), running().slice(1));
  assert.deepEqual(ops(done), ['delete pods x-worker-0', 'delete pods x-worker-1', 'delete services x-coordinator', 'delete services x-workers', 'delete secrets x-join-token']);
  assert.equal(done.finalizer, 'remove');
  const stuck = plan(deleting(NOW - FINALIZE_TIMEOUT_MS - 1000), [pod('x-coordinator', 'Running', { deleting: true }), ...running().slice(1)]);
  assert.equal(stuck.finalizer, 'remove');
  assert.equal(stuck.events[0]?.reason, 'FinalizeTimeout');
  assert.deepEqual(plan(experiment({}, undefined, { deletionTimestamp: rfc3339(NOW), finalizers: [] }), running()).actions, [], 'without our finalizer: nothing to do');
});
