/**
 * The fake API server's own semantics, exercised through @kubernetes/client-node (the client the
 * operator uses) and raw HTTP where the client cannot express a request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiException, CoreV1Api, CustomObjectsApi, ListWatch, PatchStrategy, setHeaderOptions, Watch, type V1Pod } from '@kubernetes/client-node';
import { COORDINATOR_RULES, OPERATOR_RULES } from '../rbac-rules.js';
import { FakeApiServer } from './fake-api-server.js';
import { kubernetesAdmission } from './admission.js';

const EXP = { group: 'encourage.dev', version: 'v1alpha1', plural: 'experiments' };
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function pod(name: string, labels: Record<string, string> = {}, extra: Partial<V1Pod> = {}): V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] }, ...extra };
}

function statusOf(err: unknown): { code: number; reason: string; message: string } {
  assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
  const body = JSON.parse(err.body as string) as { kind: string; code: number; reason: string; message: string };
  assert.equal(body.kind, 'Status');
  assert.equal(body.code, err.code);
  return body;
}

async function withServer(fn: (s: FakeApiServer, core: CoreV1Api, custom: CustomObjectsApi) => Promise<void>, options: Parameters<typeof FakeApiServer.start>[0] = {}): Promise<void> {
  const s = await FakeApiServer.start({ admission: kubernetesAdmission(), ...options });
  try {
    const kc = s.kubeConfig();
    await fn(s, kc.makeApiClient(CoreV1Api), kc.makeApiClient(CustomObjectsApi));
  } finally {
    await s.close();
  }
}

test('create / get / list with selectors; 409 AlreadyExists, 404 NotFound and 422 Invalid as Status objects', () =>
  withServer(async (_s, core) => {
    const created = await core.createNamespacedPod({ namespace: 'ns', body: pod('a', { app: 'x', tier: 'web' }) });
    assert.ok(created.metadata?.uid && created.metadata.resourceVersion);
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.status?.phase, 'Pending');
    await core.createNamespacedPod({ namespace: 'ns', body: pod('b', { app: 'y' }) });
    await core.createNamespacedPod({ namespace: 'other', body: pod('c', { app: 'x' }) });
    const conflict = await core.createNamespacedPod({ namespace: 'ns', body: pod('a') }).catch((e: unknown) => e);
    assert.deepEqual([statusOf(conflict).code, statusOf(conflict).reason, statusOf(conflict).message], [409, 'AlreadyExists', 'pods "a" already exists']);
    const missing = await core.readNamespacedPod({ namespace: 'ns', name: 'zz' }).catch((e: unknown) => e);
    assert.equal(statusOf(missing).reason, 'NotFound');
    assert.match(statusOf(missing).message, /pods "zz" not found/);
    const invalid = await core.createNamespacedPod({ namespace: 'ns', body: { metadata: { name: 'bad' }, spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'x' as unknown as number }] }] } } }).catch((e: unknown) => e);
    assert.equal(statusOf(invalid).reason, 'Invalid');
    assert.match(statusOf(invalid).message, /containerPort/);
    const names = (sel: string) => core.listPodForAllNamespaces({ labelSelector: sel }).then((l) => l.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`).sort());
    assert.deepEqual(await names('app=x'), ['ns/a', 'other/c']);
    assert.deepEqual(await names('app in (x,y),tier!=web'), ['ns/b', 'other/c']);
    assert.deepEqual(await names('tier'), ['ns/a']);
    assert.deepEqual(await names('!tier,app=x'), ['other/c']);
    assert.deepEqual((await core.listNamespacedPod({ namespace: 'ns', fieldSelector: 'metadata.name=b' })).items.map((p) => p.metadata?.name), ['b']);
  }));

test('patches by Content-Type: JSON Patch (client default), merge patch, 415 for strategic merge; stale resourceVersion is 409 Conflict', () =>
  withServer(async (s, core, custom) => {
    const exp = (await custom.createNamespacedCustomObject({ ...EXP, namespace: 'ns', body: { apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', metadata: { name: 'e' }, spec: { epochs: 1, workers: { replicas: 2 } } } })) as { metadata: { resourceVersion: string } };
    const json = (await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: [{ op: 'test', path: '/spec/epochs', value: 1 }, { op: 'replace', path: '/spec/epochs', value: 3 }, { op: 'add', path: '/metadata/labels', value: { a: 'b' } }] })) as { spec: { epochs: number }; metadata: { labels: object } };
    assert.equal(json.spec.epochs, 3);
    assert.deepEqual(json.metadata.labels, { a: 'b' });
    assert.equal(s.audit.at(-1)!.contentType, 'application/json-patch+json');
    const failedTest = await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: [{ op: 'test', path: '/spec/epochs', value: 99 }] }).catch((e: unknown) => e);
    assert.equal(statusOf(failedTest).code, 422);
    const merged = (await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: { metadata: { labels: { a: null, c: 'd' } }, spec: { workers: { minReplicas: 1 } } } }, MERGE)) as { spec: { workers: object }; metadata: { labels: object } };
    assert.deepEqual(merged.spec.workers, { replicas: 2, minReplicas: 1, gpusPerPod: 0 }, 'the CRD schema defaults gpusPerPod');
    assert.deepEqual(merged.metadata.labels, { c: 'd' });
    assert.equal(s.audit.at(-1)!.contentType, 'application/merge-patch+json');
    const stale = await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: { metadata: { resourceVersion: exp.metadata.resourceVersion }, spec: { epochs: 5 } } }, MERGE).catch((e: unknown) => e);
    assert.equal(statusOf(stale).reason, 'Conflict');
    const smp = await core.patchNamespacedPod({ namespace: 'ns', name: 'none', body: {} }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)).catch((e: unknown) => e);
    assert.equal((smp as ApiException<string>).code, 404, 'the object is looked up first');
    await core.createNamespacedPod({ namespace: 'ns', body: pod('p') });
    const smp2 = await core.patchNamespacedPod({ namespace: 'ns', name: 'p', body: {} }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)).catch((e: unknown) => e);
    assert.equal(statusOf(smp2).reason, 'UnsupportedMediaType');
  }));

test('status subresource split, generation on spec changes only, no-op writes keep the resourceVersion; scale subresource', () =>
  withServer(async (_s, _core, custom) => {
    await custom.createNamespacedCustomObject({ ...EXP, namespace: 'ns', body: { apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', metadata: { name: 'e' }, spec: { workers: { replicas: 2 } }, status: { phase: 'Ignored' } } });
    type E = { metadata: { generation: number; resourceVersion: string }; spec: { workers: { replicas: number } }; status?: { phase?: string; selector?: string; workersReady?: number } };
    const get = () => custom.getNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e' }) as Promise<E>;
    assert.equal((await get()).status, undefined, 'status is ignored on create');
    const st = (await custom.patchNamespacedCustomObjectStatus({ ...EXP, namespace: 'ns', name: 'e', body: { status: { phase: 'Running', selector: 'a=b', workersReady: 1 }, spec: { workers: { replicas: 9 } } } }, MERGE)) as E;
    assert.equal(st.status?.phase, 'Running');
    assert.equal(st.spec.workers.replicas, 2, 'the status subresource ignores spec');
    assert.equal(st.metadata.generation, 1, 'a status write is no spec change');
    const main = (await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: { status: { phase: 'Hacked' }, metadata: { annotations: { x: 'y' } } } }, MERGE)) as E;
    assert.equal(main.status?.phase, 'Running', 'the main resource ignores status');
    assert.equal(main.metadata.generation, 1, 'metadata changes keep the generation');
    const noop = (await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: { metadata: { annotations: { x: 'y' } } } }, MERGE)) as E;
    assert.equal(noop.metadata.resourceVersion, main.metadata.resourceVersion);
    const scale = (await custom.getNamespacedCustomObjectScale({ ...EXP, namespace: 'ns', name: 'e' })) as { kind: string; spec: { replicas: number }; status: { replicas: number; selector: string } };
    assert.deepEqual([scale.kind, scale.spec.replicas, scale.status.replicas, scale.status.selector], ['Scale', 2, 1, 'a=b']);
    await custom.patchNamespacedCustomObjectScale({ ...EXP, namespace: 'ns', name: 'e', body: { spec: { replicas: 3 } } }, MERGE);
    const scaled = await get();
    assert.equal(scaled.spec.workers.replicas, 3);
    assert.equal(scaled.metadata.generation, 2);
  }));

test('watch: ordered events from a resourceVersion, selector transitions, bookmarks, server timeout, 410 Expired', () =>
  withServer(
    async (s, core, custom) => {
      await core.createNamespacedPod({ namespace: 'ns', body: pod('before', { w: '1' }) });
      const rv = (await core.listNamespacedPod({ namespace: 'ns' })).metadata!.resourceVersion!;
      const events: string[] = [];
      let bookmarkRv = '';
      const ended = new Promise<unknown>((resolve) => {
        void new Watch(s.kubeConfig()).watch('/api/v1/namespaces/ns/pods', { resourceVersion: rv, labelSelector: 'w=1', allowWatchBookmarks: true, timeoutSeconds: 1 }, (type, obj: { metadata: { name: string; resourceVersion: string } }) => {
          if (type === 'BOOKMARK') bookmarkRv = obj.metadata.resourceVersion;
          else events.push(`${type} ${obj.metadata.name}`);
        }, resolve);
      });
      await core.createNamespacedPod({ namespace: 'ns', body: pod('p', { w: '1' }) });
      await core.createNamespacedPod({ namespace: 'ns', body: pod('q', { w: '0' }) });
      await core.patchNamespacedPod({ namespace: 'ns', name: 'q', body: { metadata: { labels: { w: '1' } } } }, MERGE);
      await core.patchNamespacedPod({ namespace: 'ns', name: 'p', body: { metadata: { labels: { w: '2' } } } }, MERGE);
      await core.deleteNamespacedPod({ namespace: 'ns', name: 'q' });
      assert.equal(await ended, null, 'the server ends the stream after timeoutSeconds');
      assert.deepEqual(events, ['ADDED p', 'ADDED q', 'DELETED p', 'DELETED q']);
      assert.equal(bookmarkRv, s.store.resourceVersion, 'a bookmark carries the current resourceVersion');
      // From a compacted resourceVersion: an ERROR event with a 410 Status, then the end.
      s.store.compact();
      const expired = await new Promise<unknown[]>((resolve) => {
        const got: unknown[] = [];
        void new Watch(s.kubeConfig()).watch('/api/v1/namespaces/ns/pods', { resourceVersion: rv }, (type, obj) => got.push([type, (obj as { code: number }).code]), () => resolve(got));
      });
      assert.deepEqual(expired, [['ERROR', 410]]);
      // client-node's informer relists after a 410 and catches up.
      const lw = new ListWatch('/apis/encourage.dev/v1alpha1/namespaces/ns/experiments', new Watch(s.kubeConfig()), () => custom.listNamespacedCustomObject({ ...EXP, namespace: 'ns' }), false);
      await lw.start();
      s.store.compact();
      await custom.createNamespacedCustomObject({ ...EXP, namespace: 'ns', body: { metadata: { name: 'late' }, spec: { workers: { replicas: 1 } } } });
      s.dropWatches();
      const deadline = Date.now() + 5000;
      while (lw.get('late', 'ns') === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(lw.get('late', 'ns'), 'the informer saw the object created while compacted');
      await lw.stop();
    },
    { bookmarkIntervalMs: 200 },
  ));

test('finalizers hold a deleted object; graceful pod deletion; garbage collection of dependents', () =>
  withServer(async (s, core, custom) => {
    const exp = (await custom.createNamespacedCustomObject({ ...EXP, namespace: 'ns', body: { metadata: { name: 'e', finalizers: ['x/y'] }, spec: { workers: { replicas: 1 } } } })) as { metadata: { uid: string } };
    const owner = [{ apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', name: 'e', uid: exp.metadata.uid, controller: true }];
    await core.createNamespacedPod({ namespace: 'ns', body: pod('unbound', {}, { metadata: { name: 'unbound', ownerReferences: owner } }) });
    await core.createNamespacedPod({ namespace: 'ns', body: pod('bound', {}, { metadata: { name: 'bound', ownerReferences: owner } }) });
    await core.createNamespacedPodBinding({ namespace: 'ns', name: 'bound', body: { metadata: { name: 'bound' }, target: { kind: 'Node', name: 'n1' } } });
    const again = await core.createNamespacedPodBinding({ namespace: 'ns', name: 'bound', body: { metadata: { name: 'bound' }, target: { kind: 'Node', name: 'n2' } } }).catch((e: unknown) => e);
    assert.equal(statusOf(again).code, 409);
    await core.createNamespacedSecret({ namespace: 'ns', body: { metadata: { name: 'sec', ownerReferences: owner }, stringData: { token: 'abc' } } });
    assert.deepEqual((await core.readNamespacedSecret({ namespace: 'ns', name: 'sec' })).data, { token: Buffer.from('abc').toString('base64') });
    await custom.deleteNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e' });
    const held = (await custom.getNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e' })) as { metadata: { deletionTimestamp?: string; resourceVersion: string } };
    assert.ok(held.metadata.deletionTimestamp, 'a finalizer keeps the object, marked for deletion');
    const addFinalizer = await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: { metadata: { finalizers: ['x/y', 'new/one'] } } }, MERGE).catch((e: unknown) => e);
    assert.equal(statusOf(addFinalizer).code, 422, 'no new finalizers on an object being deleted');
    await custom.patchNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e', body: { metadata: { finalizers: [], resourceVersion: held.metadata.resourceVersion } } }, MERGE);
    assert.equal(statusOf(await custom.getNamespacedCustomObject({ ...EXP, namespace: 'ns', name: 'e' }).catch((e: unknown) => e)).code, 404);
    await new Promise((r) => setTimeout(r, 50));
    const left = await core.listNamespacedPod({ namespace: 'ns' });
    assert.deepEqual(left.items.map((p) => p.metadata?.name), ['bound'], 'the unscheduled pod is gone at once');
    assert.ok(left.items[0]!.metadata?.deletionTimestamp, 'the bound pod waits for its kubelet');
    assert.equal(left.items[0]!.metadata?.deletionGracePeriodSeconds, 30);
    assert.equal((await core.listNamespacedSecret({ namespace: 'ns' })).items.length, 0);
    await core.deleteNamespacedPod({ namespace: 'ns', name: 'bound', gracePeriodSeconds: 0 });
    assert.equal((await core.listNamespacedPod({ namespace: 'ns' })).items.length, 0, 'the kubelet’s grace-0 delete removes it');
    assert.ok(s.audit.some((a) => a.verb === 'delete' && a.query.includes('gracePeriodSeconds=0')));
  }));

test('bearer tokens and RBAC rules: 401, 403 with the Kubernetes message, blockOwnerDeletion needs experiments/finalizers', () =>
  withServer(
    async (s) => {
      const coord = s.kubeConfig('coord-token');
      const custom = coord.makeApiClient(CustomObjectsApi);
      const admin = s.kubeConfig('admin-token').makeApiClient(CustomObjectsApi);
      const exp = (await admin.createNamespacedCustomObject({ ...EXP, namespace: 'ns', body: { metadata: { name: 'e' }, spec: { workers: { replicas: 1 } } } })) as { metadata: { uid: string } };
      await custom.patchNamespacedCustomObjectStatus({ ...EXP, namespace: 'ns', name: 'e', body: { status: { epoch: 1 } } }, MERGE);
      const other = await custom.patchNamespacedCustomObjectStatus({ ...EXP, namespace: 'elsewhere', name: 'e', body: { status: {} } }, MERGE).catch((e: unknown) => e);
      assert.equal(statusOf(other).code, 403, 'a Role binds in its namespace only');
      const pods = await coord.makeApiClient(CoreV1Api).deleteNamespacedPod({ namespace: 'ns', name: 'x' }).catch((e: unknown) => e);
      assert.equal(statusOf(pods).message, 'pods is forbidden: User "system:serviceaccount:ns:encourage-coordinator" cannot delete resource "pods" in API group "" in the namespace "ns"');
      const anon = await s.kubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'ns' }).catch((e: unknown) => e);
      assert.equal((anon as ApiException<unknown>).code, 401);
      const owned = { metadata: { name: 'p', ownerReferences: [{ apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', name: 'e', uid: exp.metadata.uid, controller: true, blockOwnerDeletion: true }] }, spec: { containers: [{ name: 'c', image: 'i' }] } };
      const limited = await s.kubeConfig('no-finalizers').makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'ns', body: owned }).catch((e: unknown) => e);
      assert.match(statusOf(limited).message, /cannot set blockOwnerDeletion/);
      await s.kubeConfig('operator-token').makeApiClient(CoreV1Api).createNamespacedPod({ namespace: 'ns', body: owned });
    },
    {
      tokens: {
        'admin-token': { user: 'admin', rules: 'admin', namespace: null },
        'coord-token': { user: 'system:serviceaccount:ns:encourage-coordinator', rules: COORDINATOR_RULES, namespace: 'ns' },
        'operator-token': { user: 'system:serviceaccount:ops:encourage-operator', rules: OPERATOR_RULES, namespace: null },
        'no-finalizers': { user: 'limited', rules: OPERATOR_RULES.filter((r) => !r.resources.includes('experiments/finalizers')), namespace: null },
      },
    },
  ));
