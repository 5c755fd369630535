import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../core/errors.js';
import { parseCoordinatorConfig } from '../config.js';
import { buildProgram } from '../../cli/program.js';
import { trainConfigFromFlags } from '../../cli/train-command.js';
import { coordinatorArgs, workerArgs } from './coordinator-flags.js';
import { resolveExperimentSpec } from './experiment-spec.js';
import type { Experiment } from './experiment-types.js';
import type { BackendRequest } from '../../core/training/names.js';

const exp = (spec: unknown, name = 'run-a'): Experiment => ({ metadata: { name, namespace: 'ns', uid: 'u-1' }, spec });
const base = { workers: { replicas: 2 } };

function rejects(spec: unknown, field: string, pattern?: RegExp, name?: string, defaultBackend?: BackendRequest): void {
  assert.throws(() => resolveExperimentSpec(exp(spec, name), defaultBackend), (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.key, field, err.message);
    if (pattern !== undefined) assert.match(err.message, pattern);
    return true;
  });
}

test('defaults follow the contract: cifar10, fixed-size workers, runPolicy 3 / Running', () => {
  const r = resolveExperimentSpec(exp(base));
  assert.equal(r.dataset.source, 'cifar10');
  assert.deepEqual([r.workers.replicas, r.workers.minReplicas, r.workers.maxReplicas, r.workers.procsPerPod, r.workers.ranksPerPod], [2, 2, 2, 1, 1]);
  assert.deepEqual(r.runPolicy, { backoffLimit: 3, activeDeadlineSeconds: null, cleanPodPolicy: 'Running' });
  assert.equal(r.train.experiment, 'run-a');
  assert.equal(r.train.runDir, '/checkpoints/run-a');
  assert.equal(r.train.model, 'resnet18');
  assert.deepEqual(r.train.data, { kind: 'cifar10', dir: '/data', download: true, url: null }, 'no dataset claim: each worker downloads');
  assert.equal(r.train.backend, 'auto');
  const gpu = resolveExperimentSpec(exp({ backend: 'tensorflow', workers: { replicas: 1, gpusPerPod: 4 } }));
  assert.deepEqual([gpu.workers.procsPerPod, gpu.workers.ranksPerPod], [null, 4], 'one process per GPU (tfjs-node-gpu)');
});

test('invalid fields are named by their spec path, through the project’s own parsers', () => {
  rejects({ ...base, optimizer: { lr: -0.1 } }, 'spec.optimizer.lr', /invalid spec\.optimizer\.lr: -0\.1 \(expected a number > 0\)/);
  rejects({ ...base, optimizer: { momentum: 1 } }, 'spec.optimizer.momentum');
  rejects({ ...base, schedule: { kind: 'linear' } }, 'spec.schedule.kind');
  rejects({ ...base, epochs: 3, schedule: { warmupEpochs: 3 } }, 'spec.schedule.warmupEpochs');
  rejects({ ...base, model: 'vgg' }, 'spec.model');
  rejects({ ...base, metrics: { confidenceEdges: [0, 0.7, 0.5, 1] } }, 'spec.metrics.confidenceEdges');
  rejects({ ...base, allreduce: { dtype: 'int8' } }, 'spec.allreduce.dtype');
  rejects({ ...base, dataset: { source: 'synthetic', syntheticTrain: 5 } }, 'spec.dataset.syntheticTrain');
  rejects({ ...base, loss: { preset: 'focal' } }, 'spec.loss.preset');
  rejects({ ...base, loss: { preset: 'el', options: { logEnd: 1.5 } } }, 'spec.loss.options.logEnd');
  rejects({ ...base, loss: { preset: 'mse', options: { bonus: 'log' } } }, 'spec.loss.options.bonus', /'none' or 'power'/);
  rejects({ ...base, loss: { options: { schedule: { kind: 'cos' } } } }, 'spec.loss.options.schedule.maxEpoch');
  rejects({ ...base, optimizer: { lr: 0.1, momentun: 0.9 } }, 'spec.optimizer.momentun', /no such field/);
  rejects({ ...base, extra: 1 }, 'spec.extra');
  rejects({ ...base, dataset: { source: 'synthetic', url: 'http://x' } }, 'spec.dataset.url');
  rejects({ ...base, dataset: { pvc: { claimName: 'd', subPath: '../etc' } } }, 'spec.dataset.pvc.subPath');
  rejects({ ...base, checkpoint: { pvc: {} } }, 'spec.checkpoint.pvc.claimName');
  rejects({ ...base, runPolicy: { cleanPodPolicy: 'Some' } }, 'spec.runPolicy.cleanPodPolicy');
  rejects({ ...base, runPolicy: { activeDeadlineSeconds: 0 } }, 'spec.runPolicy.activeDeadlineSeconds');
  rejects({}, 'spec.workers', /required/);
  rejects({ workers: { replicas: 0 } }, 'spec.workers.replicas');
  rejects({ workers: { replicas: 5, maxReplicas: 4 } }, 'spec.workers.replicas', /\[minReplicas 4, maxReplicas 4\]/);
  rejects({ workers: { replicas: 2, minReplicas: 3, maxReplicas: 4 } }, 'spec.workers.replicas', /\[minReplicas 3, maxReplicas 4\]/);
  rejects({ workers: { replicas: 2, minReplicas: 3, maxReplicas: 2 } }, 'spec.workers.minReplicas');
  rejects({ workers: { replicas: 1, imagePullPolicy: 'Sometimes' } }, 'spec.workers.imagePullPolicy');
  rejects({ workers: { replicas: 1, resources: { limits: { cpu: 'lots' } } } }, 'spec.workers.resources.limits.cpu', /quantity/);
  rejects({ workers: { replicas: 1, gpusPerPod: 2, resources: { limits: { 'nvidia.com/gpu': '1' } } } }, 'spec.workers.resources.limits.nvidia.com/gpu');
  rejects({ workers: { replicas: 1, tolerations: ['x'] } }, 'spec.workers.tolerations');
  rejects({ ...base, backend: 'cuda' }, 'spec.backend', /"cuda" \(expected auto\|tensorflow\|webgpu\|wasm\|cpu\)/);
  rejects(base, 'metadata.name', /RFC 1035/, '9lives');
  rejects(base, 'metadata.name', /at most 51/, 'a'.repeat(52));
});

/** Parse argv with the real `encourage coordinator` flag definitions, then resolve as its action does. */
async function coordinatorConfigFromArgs(args: string[]) {
  const program = buildProgram();
  const cmd = program.commands.find((c) => c.name() === 'coordinator')!;
  let captured: Record<string, unknown> = {};
  cmd.action((flags: Record<string, unknown>) => {
    captured = flags;
  });
  await program.parseAsync(['coordinator', ...args], { from: 'user' });
  const { experimentRef, ...flags } = captured;
  return { ref: experimentRef as string, train: await trainConfigFromFlags(flags), settings: parseCoordinatorConfig(flags) };
}

test('the coordinator’s flags reproduce the spec: the coordinator resolves the same TrainConfig', async () => {
  const spec = {
    dataset: { source: 'synthetic', syntheticTrain: 512, syntheticTest: 256 },
    model: 'cnn-small',
    loss: { preset: 'el', options: { rho: 0.5, schedule: { kind: 'cos', maxEpoch: 10 } } },
    optimizer: { lr: 0.05, momentum: 0.8, weightDecay: 0.001, nesterov: true, lrScaling: 'linear', lrReferenceBatch: 64 },
    schedule: { kind: 'multistep', warmupEpochs: 1 },
    epochs: 12, batchSize: 16, seed: 7, evalEvery: 2, maxStepsPerEpoch: 5, augment: false, backend: 'wasm',
    allreduce: { dtype: 'float16', bucketMb: 8, chunkKb: 256 },
    checkpoint: { pvc: { claimName: 'ck' }, everySteps: 100, kept: 5 },
    metrics: { confidenceEdges: [0, 0.5, 0.9, 1], highConfidenceThreshold: 0.75, paramGradEverySteps: 10 },
    workers: { replicas: 3, minReplicas: 2, maxReplicas: 5, procsPerPod: 2 },
  };
  const r = resolveExperimentSpec(exp(spec));
  const args = coordinatorArgs(r);
  const parsed = await coordinatorConfigFromArgs(args);
  assert.deepEqual(parsed.train, r.train, 'operator-side and coordinator-side resolution agree field for field');
  assert.equal(parsed.ref, 'ns/run-a');
  assert.deepEqual([parsed.settings.minWorkers, parsed.settings.maxWorkers], [4, 10], 'ranks = pods × processes per pod');
  assert.ok(args.includes('--resume'));
  assert.ok(!args.includes('--host'), 'pods listen on all interfaces by default');
  assert.deepEqual(coordinatorArgs(r, true).slice(coordinatorArgs(r, true).indexOf('--host'), coordinatorArgs(r, true).indexOf('--host') + 2), ['--host', '$(POD_IP)']);
  assert.deepEqual(workerArgs(r), ['--local-procs', '2', '--collective-port', '7071', '--metrics-port', '9091']);
});

test('cifar10: the dataset volume, download only without a claim or with a mirror', async () => {
  const fromPvc = resolveExperimentSpec(exp({ ...base, dataset: { pvc: { claimName: 'data', subPath: 'cifar' } } }));
  assert.deepEqual(fromPvc.train.data, { kind: 'cifar10', dir: '/data/cifar', download: false, url: null });
  assert.ok(!coordinatorArgs(fromPvc).includes('--download'));
  const mirror = resolveExperimentSpec(exp({ ...base, dataset: { url: 'https://mirror.example/cifar-10-binary.tar.gz' } }));
  const args = coordinatorArgs(mirror);
  assert.ok(args.includes('--download'));
  const parsed = await coordinatorConfigFromArgs(args);
  assert.deepEqual(parsed.train.data, { kind: 'cifar10', dir: '/data', download: true, url: 'https://mirror.example/cifar-10-binary.tar.gz' });
});

test('backend: an unset one is the operator\'s default, and the coordinator is told either way', async () => {
  const spec = { dataset: { source: 'synthetic' }, model: 'cnn-small', workers: { replicas: 2, gpusPerPod: 1 } };
  for (const [given, defaultBackend, expected] of [[undefined, undefined, 'auto'], [undefined, 'webgpu', 'webgpu'], ['wasm', 'webgpu', 'wasm'], ['webgpu', 'tensorflow', 'webgpu']] as const) {
    const r = resolveExperimentSpec(exp(given === undefined ? spec : { ...spec, backend: given }), defaultBackend);
    assert.equal(r.train.backend, expected, `spec ${given ?? '(unset)'}, default ${defaultBackend ?? '(auto)'}`);
    const args = coordinatorArgs(r);
    assert.deepEqual(args.slice(args.indexOf('--backend'), args.indexOf('--backend') + 2), ['--backend', expected]);
    assert.equal((await coordinatorConfigFromArgs(args)).train.backend, expected, 'the coordinator resolves the same backend');
  }
});

test('webgpu and auto: one GPU per pod, refused naming the field, the backend and why; webgpu runs one process', () => {
  const why = /no adapter index and CUDA_VISIBLE_DEVICES does not apply to Vulkan, so every process would train on the same GPU/;
  rejects({ backend: 'webgpu', workers: { replicas: 2, gpusPerPod: 2 } }, 'spec.workers.gpusPerPod', /^invalid spec\.workers\.gpusPerPod: 2 \(expected at most 1 with backend webgpu \(spec\.backend\): WebGPU/);
  rejects({ backend: 'webgpu', workers: { replicas: 2, gpusPerPod: 8 } }, 'spec.workers.gpusPerPod', why);
  rejects({ backend: 'webgpu', workers: { replicas: 2, gpusPerPod: 2 } }, 'spec.workers.gpusPerPod', /more pods \(spec\.workers\.replicas\)/);
  rejects({ workers: { replicas: 1, gpusPerPod: 4 } }, 'spec.workers.gpusPerPod', /at most 1 with backend auto \(the operator's default backend, spec\.backend being unset\).*spec\.backend: tensorflow/);
  rejects({ workers: { replicas: 1, gpusPerPod: 2 } }, 'spec.workers.gpusPerPod', /with backend webgpu \(the operator's default backend/, undefined, 'webgpu');
  // GPUs asked for through the resources instead of gpusPerPod count the same.
  rejects({ backend: 'webgpu', workers: { replicas: 1, resources: { limits: { 'nvidia.com/gpu': '2' } } } }, 'spec.workers.resources.limits.nvidia.com/gpu', /at most 1 with backend webgpu/);
  // Accepted: one GPU per pod on webgpu (one process, not "one per visible GPU"), any count on tfjs-node-gpu or without GPUs.
  const one = resolveExperimentSpec(exp({ backend: 'webgpu', workers: { replicas: 4, gpusPerPod: 1 } }));
  assert.deepEqual([one.workers.gpusPerPod, one.workers.procsPerPod, one.workers.ranksPerPod], [1, 1, 1]);
  assert.deepEqual(workerArgs(one).slice(0, 2), ['--local-procs', '1']);
  assert.equal(resolveExperimentSpec(exp({ backend: 'tensorflow', workers: { replicas: 1, gpusPerPod: 8 } })).workers.ranksPerPod, 8);
  assert.equal(resolveExperimentSpec(exp({ backend: 'webgpu', workers: { replicas: 1, procsPerPod: 2 } })).workers.ranksPerPod, 2, 'processes sharing a (software) adapter are allowed');
});
