/**
 * The webgpu backend through the operator, end to end without a cluster: `encourage operator
 * --default-backend webgpu` (what the chart's `experimentDefaults.backend: webgpu` renders) against
 * the fake API server, with the shipped CRD as admission, and the fake kubelet, whose pods are real
 * processes. Two GPUs per pod are refused naming the field; with one, the worker pods carry the
 * nvidia.com/gpu limit, the GPU image and the driver capability that mounts the Vulkan ICD, and the
 * run trains on this machine's Vulkan adapter (Mesa's lavapipe in CI: the fake kubelet does not
 * emulate resource limits, so the pod's process sees whatever the host has). Only a machine without
 * any Vulkan adapter skips the run, saying why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetrics } from '../../core/training/run-dir.js';
import { deviceLabel } from '../../worker/backend/webgpu-runtime.js';
import { webgpuForTests } from '../../worker/backend/webgpu-test-support.js';
import type { Experiment } from './experiment-types.js';
import { NVIDIA_GRAPHICS_CAPABILITIES } from './gpu-placement.js';
import { DEFAULT_GPU_IMAGE, DEFAULT_IMAGE } from './operator-config.js';
import { startFakeCluster, type FakeCluster } from './testing/fake-cluster.js';
import { CLI_MAIN, startOperatorProcess, type OperatorProcess } from './testing/operator-process.js';

const NS = 'default';
const probe = await webgpuForTests();
let cluster: FakeCluster;
let operator: OperatorProcess;

/** cnn-small on a little synthetic data: a couple of steps, enough to train on the adapter and finish. */
const gpuRun = (name: string, workers: Record<string, unknown>) => ({
  metadata: { name, namespace: NS },
  spec: {
    dataset: { source: 'synthetic', syntheticTrain: 64, syntheticTest: 32 },
    model: 'cnn-small',
    loss: { preset: 'el' },
    epochs: 1,
    batchSize: 32,
    seed: 1,
    workers,
    checkpoint: { pvc: { claimName: `${name}-ckpt` } },
  },
});

before(async () => {
  cluster = await startFakeCluster({ root: await mkdtemp(join(tmpdir(), 'op-webgpu-')), kubeletCli: CLI_MAIN });
  operator = await startOperatorProcess(cluster, ['--default-backend', 'webgpu']);
});

after(async () => {
  const res = await operator.stop();
  await cluster.stop();
  assert.equal(res.code, 0, `operator exit\n${operator.log().slice(-3000)}`);
});

async function phaseOf(name: string, phase: string, timeoutMs: number): Promise<Experiment> {
  return cluster.waitFor(`${name} to be ${phase}`, async () => {
    const e = await cluster.getExperiment(NS, name);
    return e?.status?.phase === phase ? e : undefined;
  }, timeoutMs).catch((err: Error) => {
    const logs = [`${name}-coordinator`, `${name}-worker-0`].map((p) => `--- ${p}\n${cluster.kubelet!.logs(NS, p).slice(-2000)}`).join('\n');
    throw new Error(`${err.message}\n--- operator\n${operator.log().slice(-2000)}\n${logs}`);
  });
}

test('two GPUs per pod on the default backend webgpu: Invalid, naming the field and why; nothing is created', { timeout: 30_000 }, async () => {
  await cluster.createExperiment(NS, gpuRun('two-gpus', { replicas: 1, gpusPerPod: 2 }));
  const failed = await phaseOf('two-gpus', 'Failed', 20_000);
  assert.equal((failed.spec as Record<string, unknown>)['backend'], undefined, 'the CRD leaves an unset backend to the operator');
  const invalid = failed.status!.conditions!.find((c) => c.type === 'Invalid');
  assert.equal(invalid?.status, 'True');
  assert.match(invalid!.message, /^invalid spec\.workers\.gpusPerPod: 2 \(expected at most 1 with backend webgpu \(the operator's default backend, spec\.backend being unset\): WebGPU \(Dawn over Vulkan\) cannot give each process of a pod its own GPU/);
  assert.equal((await cluster.core.listNamespacedPod({ namespace: NS, labelSelector: 'encourage.dev/experiment=two-gpus' })).items.length, 0);
});

test('one GPU per pod: the GPU pod spec, and the run trains on the Vulkan adapter to Succeeded', { timeout: 180_000, skip: probe.skip }, async () => {
  await cluster.createExperiment(NS, gpuRun('one-gpu', { replicas: 1, gpusPerPod: 1 }));
  const done = await phaseOf('one-gpu', 'Succeeded', 170_000);
  assert.equal(done.status!.epoch, 1);
  // The pods as the operator built them (they stay after success: cleanPodPolicy Running).
  const pods = (await cluster.core.listNamespacedPod({ namespace: NS, labelSelector: 'encourage.dev/experiment=one-gpu' })).items;
  const byName = new Map(pods.map((p) => [p.metadata!.name!, p.spec!.containers[0]!]));
  const coordinator = byName.get('one-gpu-coordinator')!;
  const worker = byName.get('one-gpu-worker-0')!;
  assert.deepEqual(coordinator.args!.slice(coordinator.args!.indexOf('--backend'), coordinator.args!.indexOf('--backend') + 2), ['--backend', 'webgpu']);
  assert.equal(coordinator.image, DEFAULT_IMAGE);
  assert.equal(worker.image, DEFAULT_GPU_IMAGE);
  assert.equal(worker.resources?.limits?.['nvidia.com/gpu'], '1');
  assert.equal(worker.env!.find((e) => e.name === 'NVIDIA_DRIVER_CAPABILITIES')?.value, NVIDIA_GRAPHICS_CAPABILITIES);
  assert.deepEqual(worker.args!.slice(0, 4), ['encourage', 'worker', '--local-procs', '1']);
  // The run's summary on the checkpoint claim names the backend and the adapter the worker trained on.
  const summary = (await readMetrics(join(cluster.root, 'pvc', NS, 'one-gpu-ckpt', 'one-gpu', 'metrics.jsonl'))).filter((m) => m.type === 'summary').at(-1);
  assert.equal(summary?.['status'], 'succeeded', JSON.stringify(summary));
  assert.equal(summary?.['backend'], 'webgpu');
  assert.equal(summary?.['device'], deviceLabel(probe.adapter), 'the device of the one worker: this machine\'s adapter');
});
