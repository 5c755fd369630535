/**
 * The coordinator's control plane over real gRPC on loopback, driven by two scripted workers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { encodeCheckpoint } from '../core/checkpoint/checkpoint-file.js';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { silentLogger } from '../core/logging.js';
import { readMetrics } from '../core/training/run-dir.js';
import { parseTrainConfig } from '../core/training/train-config.js';
import { parseCoordinatorConfig } from './config.js';
import { Coordinator } from './coordinator.js';
import { loadCoordinatorProto, startCoordinatorServer } from './grpc-service.js';

type Client = grpc.Client & Record<string, (req: unknown, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => unknown>;

function call<T = any>(client: Client, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) => client[method]!(req, { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
}

test('register, rendezvous, plans, merged reports, checkpoint upload and the summary', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'coord-'));
  const config = parseTrainConfig({ data: 'synthetic', syntheticTrain: 40, syntheticTest: 10, model: 'cnn-small', epochs: 1, batchSize: 10, experiment: 'ctl', runDir: dir, loss: 'el' });
  const coordinator = new Coordinator(config, parseCoordinatorConfig({ host: '127.0.0.1', port: 0, minWorkers: 2, maxWorkers: 2, joinToken: 'secret-token' }), silentLogger);
  await coordinator.init();
  const { server, port } = await startCoordinatorServer(coordinator, silentLogger);
  const proto = loadCoordinatorProto();
  const client = new proto.Coordinator(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
  try {
    // A worker without the token learns nothing and cannot join.
    await assert.rejects(call(client, 'DescribeRun', { joinToken: 'wrong' }), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
    const run = await call(client, 'DescribeRun', { joinToken: 'secret-token' });
    assert.equal(JSON.parse(run.configJson).model, 'cnn-small');
    const worker = (i: number) => ({ collectiveAddress: `127.0.0.1:${9000 + i}`, pod: 'p', localIndex: i, backend: 'wasm', configFingerprint: run.configFingerprint, trainExamples: 40, testExamples: 10 });
    await assert.rejects(call(client, 'Register', { joinToken: 'secret-token', worker: { ...worker(5), configFingerprint: 'another-model' } }), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
    const first = (await call(client, 'Register', { joinToken: 'secret-token', worker: worker(1) })).workerId;
    // The first worker's dataset defines the run's; a worker that loaded other data is refused.
    await assert.rejects(call(client, 'Register', { joinToken: 'secret-token', worker: { ...worker(5), trainExamples: 41 } }), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);
    const ids = [first, (await call(client, 'Register', { joinToken: 'secret-token', worker: worker(0) })).workerId];
    const [a1, a0] = await Promise.all(ids.map((id) => call(client, 'WaitAssignment', { workerId: id, knownGeneration: 0 })));
    assert.equal(a0.rank, 0);
    assert.equal(a1.rank, 1);
    assert.deepEqual(a0.ring, ['127.0.0.1:9000', '127.0.0.1:9001']);
    const gen = a0.generation;
    const [id1, id0] = ids as [string, string];
    await assert.rejects(call(client, 'GetEpochPlan', { workerId: id0, generation: gen + 1, epoch: 0 }), (e: grpc.ServiceError) => e.code === grpc.status.FAILED_PRECONDITION);
    const plans = await Promise.all([id0, id1].map((id) => call(client, 'GetEpochPlan', { workerId: id, generation: gen, epoch: 0 })));
    assert.equal(plans[0].trainIndices.length, 2 * 10 * 4, 'two steps of 10 int32 indices');
    const bins = config.confidenceEdges.length - 1;
    const planned = plans.map((p) => new Int32Array(new Uint8Array(p.trainIndices).buffer));
    const indexSum = (rank: number, step: number) => planned[rank]!.subarray((step - 1) * 10, step * 10).reduce((a, b) => a + b, 0);
    const report = (id: string, rank: number, step: number) => ({ indexSum: indexSum(rank, step), skipped: false,
      workerId: id, generation: gen, rank, step, epoch: 1, examples: 10, lossSum: 10 * (rank + 1), baseSum: 10, bonusSum: 10 * rank, correct: 5 + rank,
      binCounts: Array.from({ length: bins }, (_, b) => (b === 0 ? 10 : 0)), binGradNormSums: Array.from({ length: bins }, (_, b) => (b === 0 ? 3 : 0)),
      marginSum: 1, pySum: 1, paramGradNormHigh: Number.NaN, paramGradNormLow: Number.NaN, learningRate: 0.1,
      dataSeconds: 0.01, computeSeconds: 0.1, allreduceSeconds: 0.02, updateSeconds: 0.01, allreduceBytes: 1000,
    });
    await assert.rejects(call(client, 'ReportStep', { ...report(id0, 1, 1) }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT, 'wrong rank');
    // A rank that trained on other samples than planned is refused, naming the field.
    await assert.rejects(call(client, 'ReportStep', { ...report(id0, 0, 1), indexSum: indexSum(0, 1) + 1 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && e.details.startsWith('indexSum'));
    await assert.rejects(call(client, 'ReportStep', { ...report(id0, 0, 1), examples: 11 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && e.details.startsWith('examples'));
    for (const step of [1, 2]) await Promise.all([call(client, 'ReportStep', report(id0, 0, step)), call(client, 'ReportStep', report(id1, 1, step))]);
    // Rank 0 streams a checkpoint in several chunks; a non-zero rank may not.
    const ckpt = encodeCheckpoint({ meta: { kind: 'encourage-train', model: 'cnn-small', globalStep: 2, epoch: 1, position: 0, history: [] }, tensors: new Map([['w', { shape: [300_000], data: new Float32Array(300_000).fill(1.5) }]]) });
    const upload = (id: string, step: number) => new Promise<any>((resolve, reject) => {
      const s = (client as any).UploadCheckpoint({ deadline: Date.now() + 10_000 }, (e: grpc.ServiceError | null, r: unknown) => (e ? reject(e) : resolve(r)));
      for (let off = 0; off < ckpt.length; off += 256 * 1024) s.write({ workerId: id, generation: gen, step, offset: off, totalBytes: ckpt.length, data: ckpt.subarray(off, off + 256 * 1024) });
      s.end();
    });
    await assert.rejects(upload(id1, 2), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT);
    // As in a real run, rank 0 uploads right after its own evaluation while the other rank's is on
    // its way: the checkpoint waits for the epoch to close, so it carries the epoch's record.
    const uploaded = upload(id0, 2);
    const evalReport = (id: string, rank: number) => ({ workerId: id, generation: gen, rank, epoch: 1, examples: 5, lossSum: 5, baseSum: 5, bonusSum: -1, correct: 3 + rank, binExamples: Array(bins).fill(0).map((_, b) => (b === 2 ? 5 : 0)), binCorrect: Array(bins).fill(0).map((_, b) => (b === 2 ? 3 + rank : 0)), paramsDigest: 'abc' });
    await Promise.all([call(client, 'ReportEval', evalReport(id0, 0)), call(client, 'ReportEval', evalReport(id1, 1))]);
    const ack = await uploaded;
    assert.equal(Number(ack.step), 2);
    assert.equal((await new CheckpointStore(join(dir, 'checkpoints')).loadLatest())?.step, 2);
    // The checkpoint streams back (FetchCheckpoint) byte for byte as written, with the coordinator's books in its metadata.
    const fetched = await new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      const s = (client as any).FetchCheckpoint({ workerId: id1, generation: gen }, { deadline: Date.now() + 10_000 });
      s.on('data', (c: { data: Buffer }) => parts.push(c.data));
      s.on('error', reject);
      s.on('end', () => resolve(Buffer.concat(parts)));
    });
    assert.deepEqual(fetched, await new CheckpointStore(join(dir, 'checkpoints')).read(2));
    const summary = await coordinator.done;
    assert.equal(summary.workers, 2);
    assert.equal(summary.testAccuracy, 7 / 10);
    assert.equal(summary.steps, 2);
    assert.equal(summary.allreduceBytes, 4000);
    const hb = await call(client, 'Heartbeat', { workerId: id0, generation: gen, step: 2 });
    assert.equal(hb.finished, true);
    const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
    const steps = metrics.filter((m) => m.type === 'step');
    assert.deepEqual(steps.map((m) => m.step), [1, 2]);
    assert.equal(steps[0]!['loss'], 30 / 20, 'merged mean over both ranks');
    assert.equal(steps[0]!['accuracy'], 11 / 20);
    const epoch = metrics.find((m) => m.type === 'epoch')!;
    assert.equal(epoch['testAccuracy'], 0.7);
    assert.deepEqual((epoch['testBinAccuracy'] as (number | null)[])[2], 0.7);
    assert.equal(epoch['replicasIdentical'], true);
  } finally {
    client.close();
    coordinator.close();
    server.forceShutdown();
  }
});

test('grpc.health.v1 reports SERVING', async () => {
  const config = parseTrainConfig({ data: 'synthetic', model: 'cnn-small', epochs: 1, experiment: 'health', runDir: await mkdtemp(join(tmpdir(), 'h-')) });
  const coordinator = new Coordinator(config, parseCoordinatorConfig({ host: '127.0.0.1', port: 0 }), silentLogger);
  const { server, port } = await startCoordinatorServer(coordinator, silentLogger);
  const { loadSync } = await import('@grpc/proto-loader');
  const { protoPath } = await import('grpc-health-check');
  const health = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })) as any;
  const client = new health.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const res = await new Promise<any>((resolve, reject) => client.check({ service: 'encourage.v1.Coordinator' }, { deadline: Date.now() + 5000 }, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
  assert.equal(res.status, 'SERVING');
  client.close();
  coordinator.close();
  server.forceShutdown();
});
