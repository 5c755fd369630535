/**
 * The coordinator's status writer against the fake API server, authenticated as the coordinator's
 * ServiceAccount (experiments/status get+patch in its namespace only) with the CRD as admission.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { silentLogger } from '../../core/logging.js';
import type { EpochRecord } from '../../core/training/checkpoint-meta.js';
import { KubeApi } from './kube-api.js';
import { followCoordinator, parseExperimentRef, StatusWriter, type ProgressSource } from './status-writer.js';
import { coordinatorUser, EXP, MERGE_PATCH, startFakeCluster, type FakeCluster } from './testing/fake-cluster.js';

let cluster: FakeCluster;
let api: KubeApi;

before(async () => {
  cluster = await startFakeCluster({ root: await mkdtemp(join(tmpdir(), 'op-status-')) });
  await cluster.createExperiment('team', { metadata: { name: 'run' }, spec: { workers: { replicas: 1 } } });
  // The operator's fields, which the coordinator's patches must leave alone.
  await cluster.custom.patchNamespacedCustomObjectStatus({ ...EXP, namespace: 'team', name: 'run', body: { status: { phase: 'Running', ready: '1/1' } } }, MERGE_PATCH);
  // The coordinator's credentials, as the fake kubelet would mount them.
  api = new KubeApi(cluster.coordinatorKubeConfig('team'));
});

after(() => cluster.stop());

const patches = () => cluster.server.audit.filter((a) => a.user === coordinatorUser('team') && a.verb === 'patch');

test('--experiment-ref is namespace/name', () => {
  assert.deepEqual(parseExperimentRef('team/run-1'), { namespace: 'team', name: 'run-1' });
  for (const bad of ['run', 'a/b/c', 'Team/run', '', 7]) assert.throws(() => parseExperimentRef(bad), ConfigError);
});

test('throttled step updates, immediate epoch updates, a final write; operator fields untouched', async () => {
  const writer = new StatusWriter(api, { namespace: 'team', name: 'run' }, silentLogger, 300);
  const before = patches().length;
  for (let step = 1; step <= 20; step++) {
    writer.update({ step, epoch: 1 });
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 350));
  const throttled = patches().length - before;
  assert.ok(throttled >= 1 && throttled <= 3, `20 step updates in ~0.2 s became ${throttled} writes`);
  writer.update({ epoch: 1, step: 21, testAccuracy: 0.5, bestTestAccuracy: 0.5 }, true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal((await cluster.getExperiment('team', 'run'))!.status!.testAccuracy, 0.5, 'an epoch end is written at once');
  writer.update({ step: 22 });
  await writer.close();
  const status = (await cluster.getExperiment('team', 'run'))!.status!;
  assert.deepEqual([status.step, status.epoch, status.testAccuracy, status.phase, status.ready], [22, 1, 0.5, 'Running', '1/1']);
  assert.ok(patches().every((a) => a.resource === 'experiments/status' && a.code === 200 && a.contentType === 'application/merge-patch+json'));
});

test('followCoordinator: progress, accuracy, restarts (generations) and checkpoints from a run’s events', async () => {
  const run = Object.assign(new EventEmitter(), { lastCheckpointStep: null as number | null, history: [] as EpochRecord[] });
  const source: { runState: typeof run | null; membership: { generation: number }; config: { checkpointDir: string } } = { runState: null, membership: { generation: 1 }, config: { checkpointDir: '/checkpoints/run/checkpoints' } };
  const writer = new StatusWriter(api, { namespace: 'team', name: 'run' }, silentLogger, 50);
  const stop = followCoordinator(source as unknown as ProgressSource, writer, 20);
  source.runState = run; // the rendezvous created the run
  await new Promise((r) => setTimeout(r, 50));
  run.emit('step', { step: 31, epoch: 2 });
  const record = (epoch: number, acc: number) => ({ epoch, step: epoch * 16, testAccuracy: acc }) as EpochRecord;
  run.history.push(record(2, 0.61));
  run.emit('epoch', record(2, 0.61));
  run.emit('checkpoint', { step: 32, path: '/checkpoints/run/checkpoints/ckpt-0000000032.ckpt' });
  run.history.push(record(3, 0.58));
  run.emit('epoch', record(3, 0.58));
  source.membership.generation = 3; // two re-rendezvous (without the coordinator's counters: restarts)
  await new Promise((r) => setTimeout(r, 100));
  stop();
  await writer.close();
  const s = (await cluster.getExperiment('team', 'run'))!.status!;
  assert.deepEqual([s.epoch, s.step, s.testAccuracy, s.bestTestAccuracy, s.restarts, s.lastCheckpoint?.step, s.lastCheckpoint?.path], [3, 48, 0.58, 0.61, 2, 32, '/checkpoints/run/checkpoints/ckpt-0000000032.ckpt']);
  assert.equal(run.listenerCount('step'), 0, 'detached from the run');
  // With the coordinator's counters, restarts are its restarts (a resize is not one).
  const counted = { ...source, cluster: () => ({ restarts: 1 }) };
  const w2 = new StatusWriter(api, { namespace: 'team', name: 'run' }, silentLogger, 0);
  const stop2 = followCoordinator(counted as unknown as ProgressSource, w2, 20);
  stop2();
  await w2.close();
  assert.equal((await cluster.getExperiment('team', 'run'))!.status!.restarts, 1);
});

test('a missing Experiment stops the writes; API errors never throw', async () => {
  const gone = new StatusWriter(api, { namespace: 'team', name: 'nope' }, silentLogger, 0);
  const before = patches().length;
  gone.update({ step: 1 }, true);
  await new Promise((r) => setTimeout(r, 100));
  gone.update({ step: 2 }, true);
  await gone.close();
  assert.equal(patches().length - before, 1, 'one 404, then silence');
  const forbidden = new StatusWriter(api, { namespace: 'other', name: 'run' }, silentLogger, 0);
  forbidden.update({ step: 1 }, true);
  await forbidden.close();
  assert.ok(cluster.server.audit.some((a) => a.namespace === 'other' && a.code === 403));
  cluster.server.faults.push({ verb: 'patch', resource: 'experiments/status', code: 500, times: 1 });
  const retried = new StatusWriter(api, { namespace: 'team', name: 'run' }, silentLogger, 0);
  retried.update({ step: 99 }, true);
  await new Promise((r) => setTimeout(r, 100));
  await retried.close();
  assert.equal((await cluster.getExperiment('team', 'run'))!.status!.step, 99, 'the failed write was retried at close');
});
