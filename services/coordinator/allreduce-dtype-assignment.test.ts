/**
 * The coordinator decides each ring's all-reduce wire format from what its workers report at
 * registration, and every rank's assignment carries the same one (over real gRPC on loopback).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../core/logging.js';
import type { Assignment__Output } from '../core/proto/generated/encourage/v1/Assignment.js';
import { parseTrainConfig } from '../core/training/train-config.js';
import { parseCoordinatorConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { loadCoordinatorProto, startCoordinatorServer } from './grpc-service.js';

type Client = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => unknown>;

function call<T = any>(client: Client, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method]!(req, { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
}

interface Worker {
  readonly backend: string;
  readonly gpu: boolean;
}

/** A coordinator for `setting`, with `maxWorkers` slots; register `workers` and return the first ring's assignments. */
async function firstRing(setting: string | undefined, workers: readonly Worker[], maxWorkers = workers.length) {
  const dir = await mkdtemp(join(tmpdir(), 'wire-dtype-'));
  const config = parseTrainConfig({ data: 'synthetic', syntheticTrain: 40, syntheticTest: 10, model: 'cnn-small', epochs: 1, batchSize: 10, experiment: 'wire', runDir: dir, ...(setting === undefined ? {} : { allreduceDtype: setting }) });
  const coordinator = new Coordinator(config, parseCoordinatorConfig({ host: '127.0.0.1', port: 0, minWorkers: workers.length, maxWorkers, rendezvousGraceMs: 0 }), silentLogger);
  await coordinator.init();
  const { server, port } = await startCoordinatorServer(coordinator, silentLogger);
  const client = new (loadCoordinatorProto().Coordinator)(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
  const run = await call(client, 'DescribeRun', { joinToken: '' });
  const register = async (w: Worker, i: number): Promise<string> =>
    (await call(client, 'Register', { joinToken: '', worker: { collectiveAddress: `127.0.0.1:${9100 + i}`, pod: 'p', localIndex: i, backend: w.backend, gpu: w.gpu, configFingerprint: run.configFingerprint, trainExamples: 40, testExamples: 10 } })).workerId;
  const ids = await Promise.all(workers.map(register));
  const assignments = await Promise.all(ids.map((id) => call<Assignment__Output>(client, 'WaitAssignment', { workerId: id, knownGeneration: 0 })));
  const close = (): void => {
    client.close();
    server.forceShutdown();
  };
  return { client, ids, assignments, register, close };
}

const tensorflowGpu: Worker = { backend: 'tensorflow', gpu: true };
const webgpu: Worker = { backend: 'webgpu', gpu: true };
const tensorflowCpu: Worker = { backend: 'tensorflow', gpu: false };
const wasm: Worker = { backend: 'wasm', gpu: false };

test('auto (the default) is float16 on a ring of GPU ranks and float32 as soon as one rank computes on a CPU', async () => {
  const cases: Array<{ setting: string | undefined; workers: Worker[]; expected: string }> = [
    { setting: undefined, workers: [tensorflowGpu, webgpu], expected: 'float16' },
    { setting: 'auto', workers: [webgpu, webgpu, webgpu], expected: 'float16' },
    { setting: undefined, workers: [tensorflowGpu, tensorflowCpu], expected: 'float32' },
    { setting: 'auto', workers: [wasm, wasm], expected: 'float32' },
    // An explicit setting always wins.
    { setting: 'float32', workers: [tensorflowGpu, webgpu], expected: 'float32' },
    { setting: 'float16', workers: [wasm, tensorflowCpu], expected: 'float16' },
  ];
  for (const { setting, workers, expected } of cases) {
    const ring = await firstRing(setting, workers);
    try {
      const what = `${setting ?? '(default)'} with ${workers.map((w) => `${w.backend}${w.gpu ? '+gpu' : ''}`).join(', ')}`;
      assert.deepEqual(ring.assignments.map((a) => a.allreduceDtype), workers.map(() => expected), what);
    } finally {
      ring.close();
    }
  }
});

test('a CPU worker joining a GPU ring moves the next generation to float32, for every rank at once', async () => {
  const ring = await firstRing(undefined, [tensorflowGpu, tensorflowGpu], 3);
  try {
    assert.deepEqual(ring.assignments.map((a) => a.allreduceDtype), ['float16', 'float16']);
    const generation = Number(ring.assignments[0]!.generation);
    const late = await ring.register(wasm, 2);
    // The ranked workers re-join at their step boundary; the newcomer asks for its first ring.
    const next = await Promise.all([
      ...ring.ids.map((id) => call<Assignment__Output>(ring.client, 'WaitAssignment', { workerId: id, knownGeneration: generation, appliedStep: 0, reason: 'membership-change' })),
      call<Assignment__Output>(ring.client, 'WaitAssignment', { workerId: late, knownGeneration: 0 }),
    ]);
    assert.deepEqual(next.map((a) => Number(a.generation)), [generation + 1, generation + 1, generation + 1]);
    assert.deepEqual(next.map((a) => a.allreduceDtype), ['float32', 'float32', 'float32']);
  } finally {
    ring.close();
  }
});
