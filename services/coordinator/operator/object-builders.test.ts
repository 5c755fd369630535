/**
 * Every object the operator builds, for several specs, validates against the Kubernetes OpenAPI
 * schemas (kubernetes-models, plus kubectl's strict unknown-field check) and follows the contract:
 * names, labels, owner references, DNS identity, Downward API env, ports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { validateK8sObject } from '../k8s/manifest-validation.js';
import { buildCoordinatorPod, buildCoordinatorService, buildJoinSecret } from './coordinator-objects.js';
import { resolveExperimentSpec } from './experiment-spec.js';
import { buildWorkerPod, buildWorkersService } from './worker-objects.js';
import type { BuildSettings } from './object-meta.js';

const settings: BuildSettings = { image: 'ghcr.io/encourage/encourage:0.1.0', gpuImage: 'ghcr.io/encourage/encourage-gpu:0.1.0', defaultBackend: 'auto', coordinatorServiceAccount: 'encourage-coordinator', bindPodIp: false, tls: null };

const SPECS: Record<string, unknown> = {
  minimal: { workers: { replicas: 2 } },
  synthetic: { dataset: { source: 'synthetic', syntheticTrain: 512, syntheticTest: 256 }, model: 'cnn-small', workers: { replicas: 3, minReplicas: 2, maxReplicas: 4 }, checkpoint: { pvc: { claimName: 'ck' } } },
  gpu: {
    dataset: { pvc: { claimName: 'cifar', subPath: 'v1' }, url: 'https://mirror.example/c.tgz' },
    backend: 'tensorflow',
    workers: {
      replicas: 2, gpusPerPod: 2, image: 'registry.example/enc:dev', imagePullPolicy: 'Always',
      resources: { requests: { cpu: '4', memory: '16Gi' }, limits: { memory: '32Gi' } },
      nodeSelector: { 'nvidia.com/gpu.present': 'true' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }], priorityClassName: 'training',
    },
    checkpoint: { pvc: { claimName: 'ck' } },
  },
  webgpu: { backend: 'webgpu', workers: { replicas: 2, gpusPerPod: 1 } },
};

function build(name: string, spec: unknown, bind = false) {
  const r = resolveExperimentSpec({ metadata: { name, namespace: 'research', uid: 'uid-123' }, spec });
  const s = { ...settings, bindPodIp: bind };
  return { r, objects: [buildJoinSecret(r, 'ab'.repeat(32)), buildCoordinatorPod(r, s), buildCoordinatorService(r), buildWorkersService(r), ...Array.from({ length: r.workers.replicas }, (_, i) => buildWorkerPod(r, i, s))] };
}

test('every built object validates against the Kubernetes OpenAPI schemas', async () => {
  let n = 0;
  for (const [name, spec] of Object.entries(SPECS)) {
    for (const bind of [false, true]) {
      for (const obj of build(name, spec, bind).objects) {
        await validateK8sObject(obj);
        n++;
      }
    }
  }
  assert.equal(n, 2 * (4 + 2 + 4 + 3 + 4 + 2 + 4 + 2));
  // The validator is not a rubber stamp: a wrong type in a built pod is caught.
  const bad = build('minimal', SPECS['minimal']).objects[1] as V1Pod;
  bad.spec!.containers[0]!.ports![0]!.containerPort = '7070' as unknown as number;
  await assert.rejects(validateK8sObject(bad), /containerPort/);
});

test('the contract: names, labels, owner references, worker identity and env, services, GPUs', () => {
  const { objects } = build('gpu', SPECS['gpu']);
  const [secret, coord, coordSvc, workersSvc, w0, w1] = objects as [any, V1Pod, any, any, V1Pod, V1Pod];
  const owner = { apiVersion: 'encourage.dev/v1alpha1', kind: 'Experiment', name: 'gpu', uid: 'uid-123', controller: true, blockOwnerDeletion: true };
  for (const o of objects) {
    assert.deepEqual(o.metadata!.ownerReferences, [owner]);
    assert.equal(o.metadata!.namespace, 'research');
    assert.equal(o.metadata!.labels!['app.kubernetes.io/name'], 'encourage');
    assert.equal(o.metadata!.labels!['app.kubernetes.io/instance'], 'gpu');
    assert.equal(o.metadata!.labels!['encourage.dev/experiment'], 'gpu');
  }
  assert.deepEqual(objects.map((o) => o.metadata!.name), ['gpu-join-token', 'gpu-coordinator', 'gpu-coordinator', 'gpu-workers', 'gpu-worker-0', 'gpu-worker-1']);
  assert.equal(Buffer.from(secret.data.token, 'base64').toString(), 'ab'.repeat(32));
  assert.equal(coord.metadata!.labels!['app.kubernetes.io/component'], 'coordinator');
  assert.equal(coord.spec!.serviceAccountName, 'encourage-coordinator');
  assert.equal(coord.spec!.restartPolicy, 'Never');
  assert.deepEqual(coord.spec!.containers[0]!.args!.slice(0, 2), ['encourage', 'coordinator']);
  assert.equal(coord.spec!.containers[0]!.command, undefined, 'args only: the image entrypoint (tini) stays PID 1');
  assert.equal(coord.spec!.containers[0]!.image, 'registry.example/enc:dev', 'the coordinator runs the same build as the workers');
  assert.deepEqual(coord.spec!.volumes, [{ name: 'checkpoints', persistentVolumeClaim: { claimName: 'ck' } }]);
  assert.deepEqual(coordSvc.spec.selector, { 'encourage.dev/experiment': 'gpu', 'app.kubernetes.io/component': 'coordinator' });
  assert.deepEqual(coordSvc.spec.ports.map((p: { port: number }) => p.port), [7070, 9090]);
  assert.equal(workersSvc.spec.clusterIP, 'None');
  assert.equal(workersSvc.spec.publishNotReadyAddresses, true);
  assert.deepEqual(workersSvc.spec.selector, { 'encourage.dev/experiment': 'gpu', 'app.kubernetes.io/component': 'worker' });
  for (const [i, w] of [w0, w1].entries()) {
    assert.equal(w.spec!.hostname, `gpu-worker-${i}`);
    assert.equal(w.spec!.subdomain, 'gpu-workers');
    assert.equal(w.metadata!.labels!['encourage.dev/replica-index'], String(i));
    assert.equal(w.spec!.restartPolicy, 'Never');
    assert.equal(w.spec!.automountServiceAccountToken, false);
    const c = w.spec!.containers[0]!;
    assert.equal(c.name, 'worker');
    assert.deepEqual(c.args, ['encourage', 'worker', '--local-procs', 'auto', '--collective-port', '7071', '--metrics-port', '9091']);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.deepEqual(env['POD_NAME'], { fieldRef: { fieldPath: 'metadata.name' } });
    assert.deepEqual(env['POD_IP'], { fieldRef: { fieldPath: 'status.podIP' } });
    assert.deepEqual(env['ENCOURAGE_REPLICA_INDEX'], { fieldRef: { fieldPath: "metadata.labels['encourage.dev/replica-index']" } });
    assert.equal(env['ENCOURAGE_COORDINATOR'], 'gpu-coordinator.research.svc:7070');
    assert.deepEqual(env['ENCOURAGE_JOIN_TOKEN'], { secretKeyRef: { name: 'gpu-join-token', key: 'token' } });
    // tfjs-node-gpu: the device plugin sets only NVIDIA_VISIBLE_DEVICES; `--local-procs auto` splits by CUDA_VISIBLE_DEVICES.
    assert.equal(env['CUDA_VISIBLE_DEVICES'], '0,1');
    assert.equal(env['NVIDIA_DRIVER_CAPABILITIES'], undefined, 'CUDA needs no graphics capability');
    assert.deepEqual(c.resources, { requests: { cpu: '4', memory: '16Gi' }, limits: { memory: '32Gi', 'nvidia.com/gpu': '2' } });
    assert.deepEqual(c.ports!.map((p) => [p.name, p.containerPort]), [['collective', 7071], ['metrics', 9091]]);
    assert.deepEqual(w.spec!.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'cifar' } }]);
    assert.deepEqual([w.spec!.nodeSelector, w.spec!.priorityClassName], [{ 'nvidia.com/gpu.present': 'true' }, 'training']);
  }
  const cpu = build('minimal', SPECS['minimal']).objects[4] as V1Pod;
  assert.equal(cpu.spec!.containers[0]!.image, settings.image);
  assert.ok(!cpu.spec!.containers[0]!.env!.some((e) => e.name.startsWith('NVIDIA_') || e.name === 'CUDA_VISIBLE_DEVICES'), 'no GPU settings without GPUs');
  assert.equal(cpu.spec!.containers[0]!.resources, undefined);
  assert.deepEqual(cpu.spec!.volumes, [{ name: 'data', emptyDir: {} }], 'no claim: CIFAR-10 is downloaded into an emptyDir');
  assert.equal((build('synthetic', SPECS['synthetic']).objects[4] as V1Pod).spec?.volumes, undefined, 'synthetic data needs no volume');
});

test('webgpu workers: one nvidia.com/gpu each, the GPU image, the driver\'s Vulkan ICD through NVIDIA_DRIVER_CAPABILITIES, one process', () => {
  const { objects } = build('webgpu', SPECS['webgpu']);
  const coordinator = objects[1] as V1Pod;
  const args = coordinator.spec!.containers[0]!.args!;
  assert.deepEqual(args.slice(args.indexOf('--backend'), args.indexOf('--backend') + 2), ['--backend', 'webgpu']);
  assert.equal(coordinator.spec!.containers[0]!.image, settings.image, 'the coordinator computes nothing: CPU image');
  assert.equal(coordinator.spec!.containers[0]!.resources?.limits?.['nvidia.com/gpu'], undefined, 'and needs no GPU');
  for (const w of objects.slice(4) as V1Pod[]) {
    const c = w.spec!.containers[0]!;
    assert.equal(c.image, settings.gpuImage);
    assert.deepEqual(c.resources, { limits: { 'nvidia.com/gpu': '1' } });
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env['NVIDIA_DRIVER_CAPABILITIES'], 'compute,utility,graphics');
    assert.equal(env['CUDA_VISIBLE_DEVICES'], undefined, 'Vulkan ignores it');
    assert.deepEqual(c.args!.slice(0, 4), ['encourage', 'worker', '--local-procs', '1']);
  }
  // auto may pick webgpu too (the default GPU image has no tfjs-node-gpu): same capability.
  const auto = build('auto', { workers: { replicas: 1, gpusPerPod: 1 } }).objects[4] as V1Pod;
  assert.ok(auto.spec!.containers[0]!.env!.some((e) => e.name === 'NVIDIA_DRIVER_CAPABILITIES' && e.value === 'compute,utility,graphics'));
});

test('--experiment-tls-secret: every experiment pod mounts the Secret read-only and points ENCOURAGE_TLS_* at it', async () => {
  const tls = { secretName: 'run-tls', mutual: true, serverName: 'encourage.internal' };
  const r = resolveExperimentSpec({ metadata: { name: 'sec', namespace: 'research', uid: 'uid-9' }, spec: SPECS['synthetic'] });
  const s = { ...settings, tls };
  const pods = [buildCoordinatorPod(r, s), ...Array.from({ length: r.workers.replicas }, (_, i) => buildWorkerPod(r, i, s))];
  for (const pod of pods) {
    await validateK8sObject(pod);
    const c = pod.spec!.containers[0]!;
    const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.equal(env['ENCOURAGE_TLS_DIR'], '/etc/encourage/tls');
    assert.equal(env['ENCOURAGE_TLS_MUTUAL'], 'true');
    assert.equal(env['ENCOURAGE_TLS_SERVER_NAME'], 'encourage.internal');
    assert.deepEqual(c.volumeMounts!.find((m) => m.name === 'tls'), { name: 'tls', mountPath: '/etc/encourage/tls', readOnly: true });
    assert.equal(pod.spec!.volumes!.find((v) => v.name === 'tls')!.secret!.secretName, 'run-tls');
  }
  // Without it, no pod carries TLS settings.
  for (const pod of [buildCoordinatorPod(r, settings), buildWorkerPod(r, 0, settings)]) {
    assert.ok(!(pod.spec!.containers[0]!.env ?? []).some((e) => e.name.startsWith('ENCOURAGE_TLS')));
    assert.ok(!(pod.spec!.volumes ?? []).some((v) => v.name === 'tls'));
  }
});
