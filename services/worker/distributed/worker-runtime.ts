/**
 * A distributed worker process: read the run's config from the coordinator, load the data,
 * register, wait for the rendezvous, then train the coordinator's per-epoch plans, all-reducing
 * gradients with its ring neighbours every step (PyTorch DDP semantics: mean of per-replica mean
 * gradients; BatchNorm uses per-replica batch statistics, and running statistics are averaged
 * across replicas before evaluation and checkpoints).
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import type { Logger } from 'pino';
import { encodeCheckpoint } from '../../core/checkpoint/checkpoint-file.js';
import { BatchIterator } from '../../core/training/batch-iterator.js';
import { ConfidenceAccumulator } from '../../core/training/confidence.js';
import { parseTrainConfig, type TrainConfig } from '../../core/training/train-config.js';
import { selectBackend } from '../backend/select-backend.js';
import { createModel, exportState, importState, stateLayout } from '../models/index.js';
import { prepareBatch, SAMPLE_FLOATS } from '../train/batch-input.js';
import { loadDatasets } from '../train/datasets.js';
import { emptyEvalSums } from '../../core/training/loss-sums.js';
import { Replica } from '../train/replica.js';
import { captureCheckpoint } from '../train/train-checkpoint.js';
import { CoordinatorClient, float64FromBytes, int32FromBytes } from './coordinator-client.js';
import type { RingCollective } from './ring-collective.js';
import type { WorkerMetricsHooks } from '../metrics/worker-metrics.js'; // [metrics hook]

export interface WorkerOptions {
  readonly coordinator: string;
  readonly pod: string;
  readonly localIndex: number;
  readonly joinToken: string;
  readonly logger: Logger;
  /** Opens this worker's collective endpoint (host:port it advertises to the ring). */
  readonly openCollective: (config: TrainConfig) => Promise<RingCollective>;
  readonly signal?: AbortSignal;
  /** [metrics hook] Step timings, ring place and checkpoint durations for this process's /metrics. */
  readonly metrics?: WorkerMetricsHooks;
}

export interface WorkerResult {
  readonly rank: number;
  readonly worldSize: number;
  readonly steps: number;
  readonly interrupted: boolean;
}

/** Evaluation batch size (no gradients). */
export const EVAL_BATCH_SIZE = 256;

/** Run one worker until the run finishes (or `signal` aborts at a step boundary). */
export async function runWorker(opts: WorkerOptions): Promise<WorkerResult> {
  const client = new CoordinatorClient(opts.coordinator);
  let collective: RingCollective | null = null;
  let heartbeat: NodeJS.Timeout | null = null;
  try {
    const run = await client.describeRun(opts.joinToken);
    const config = parseTrainConfig(JSON.parse(run.configJson) as Record<string, unknown>);
    const log = opts.logger.child({ experiment: run.experiment, pod: opts.pod, local: opts.localIndex });
    const { backend } = await selectBackend(config.backend, log);
    const data = await loadDatasets(config.data, config.seed, log);
    collective = await opts.openCollective(config);
    const reg = await client.register({
      joinToken: opts.joinToken,
      worker: {
        collectiveAddress: collective.address, pod: opts.pod, localIndex: opts.localIndex, backend,
        configFingerprint: run.configFingerprint, trainExamples: data.train.count, testExamples: data.test.count,
      },
    });
    const workerId = reg.workerId;
    let step = 0;
    let assignment = await client.waitAssignment(workerId, 0);
    while (!assignment.assigned && !assignment.finished) assignment = await client.waitAssignment(workerId, 0);
    const generation = Number(assignment.generation);
    const { rank, worldSize } = assignment;
    const rlog = log.child({ rank, generation });
    heartbeat = setInterval(() => void client.heartbeat(workerId, generation, step).catch((err: unknown) => rlog.warn({ err: (err as Error).message }, 'heartbeat failed')), reg.heartbeatIntervalMs);
    heartbeat.unref();
    collective.reconfigure({ rank, worldSize, peers: assignment.ring, generation });
    rlog.info({ worldSize, ring: assignment.ring }, 'joined the ring');
    opts.metrics?.joined({ experiment: run.experiment, rank, worldSize, generation, model: config.model, loss: config.loss.preset ?? 'custom', backend }); // [metrics hook]

    const model = createModel(config.model, { seed: config.seed });
    const replica = new Replica(model, { momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov });
    // All replicas start from rank 0's weights (DDP broadcasts module state at construction).
    await broadcastState(replica, collective, 0);

    let interrupted = false;
    const x = new Float32Array(config.batchSize * SAMPLE_FLOATS);
    let reports: Promise<unknown> = Promise.resolve();
    for (let epoch = 0; epoch < config.epochs && !interrupted; epoch++) {
      const plan = await client.epochPlan(workerId, generation, epoch);
      const indices = int32FromBytes(plan.trainIndices);
      const lrs = float64FromBytes(plan.learningRates);
      step = Number(plan.firstStep);
      for (let i = 0; i < lrs.length; i++) {
        const t0 = performance.now();
        const batch = indices.subarray(i * config.batchSize, (i + 1) * config.batchSize);
        const { x: xs, labels } = prepareBatch(data.train, batch, x, { augment: config.augment, seed: config.seed, epoch });
        const t1 = performance.now();
        const { grads, stats } = replica.computeGradients(xs, labels, config.loss, epoch + 1);
        const sampled = config.paramGradEverySteps > 0 && step % config.paramGradEverySteps === 0;
        const split = sampled ? replica.paramGradSplit(xs, labels, stats, grads, config.highConfidenceThreshold) : null;
        const t2 = performance.now();
        const reduced = await collective.allReduce(grads, { step });
        for (let k = 0; k < grads.length; k++) grads[k]! /= worldSize;
        const t3 = performance.now();
        replica.applyGradients(grads, lrs[i]!);
        const t4 = performance.now();
        step++;
        const conf = new ConfidenceAccumulator(config.confidenceEdges);
        conf.addBatch(stats.logits, stats.gradLogits, labels, stats.numClasses);
        const report = {
          workerId, generation, rank, step, epoch: epoch + 1, examples: labels.length,
          lossSum: stats.loss * labels.length, baseSum: stats.base * labels.length, bonusSum: stats.bonus * labels.length, correct: stats.correct,
          binCounts: [...conf.counts], binGradNormSums: [...conf.gradNormSums], marginSum: conf.marginSum, pySum: conf.pySum,
          paramGradNormHigh: split?.high ?? Number.NaN, paramGradNormLow: split?.low ?? Number.NaN, learningRate: lrs[i]!,
          dataSeconds: (t1 - t0) / 1000, computeSeconds: (t2 - t1) / 1000, allreduceSeconds: (t3 - t2) / 1000, updateSeconds: (t4 - t3) / 1000,
          allreduceBytes: reduced.bytesSent,
        };
        // Reports are ordered but not awaited per step: the coordinator is off the critical path.
        reports = reports.then(() => client.reportStep(report));
        opts.metrics?.stepDone(report); // [metrics hook]
        if (opts.signal?.aborted === true) {
          interrupted = true;
          break;
        }
      }
      await reports;
      if (interrupted) break;
      await averageBuffers(replica, collective, worldSize);
      const evalIndices = int32FromBytes(plan.evalIndices);
      if (plan.evaluate) {
        const sums = emptyEvalSums(config.confidenceEdges.length - 1);
        const ex = new Float32Array(EVAL_BATCH_SIZE * SAMPLE_FLOATS);
        for (const b of new BatchIterator(evalIndices, { batchSize: EVAL_BATCH_SIZE })) {
          const { x: xs, labels } = prepareBatch(data.test, b.indices, ex, { augment: false, seed: 0, epoch: 0 });
          replica.evaluateBatch(xs, labels, config.loss, epoch + 1, config.confidenceEdges, sums);
        }
        await client.reportEval({ workerId, generation, rank, epoch: epoch + 1, ...sums, paramsDigest: paramsDigest(replica.params) });
      }
      if (plan.checkpointAtEnd && rank === 0) {
        const checkpointStart = performance.now(); // [metrics hook]
        const ckpt = captureCheckpoint(replica, {
          experiment: config.experiment, seed: config.seed, batchSize: config.batchSize, worldSize,
          epoch: epoch + 1, position: 0, globalStep: step, history: [], trainSeconds: 0, trainImages: 0,
        });
        await client.uploadCheckpoint(workerId, generation, step, encodeCheckpoint(ckpt));
        opts.metrics?.checkpointDone((performance.now() - checkpointStart) / 1000); // [metrics hook]
      }
    }
    try {
      await client.leave(workerId, generation, interrupted ? 'shutdown' : 'done');
    } catch (err) {
      // The run is over for this worker either way; a coordinator that already stopped is fine.
      rlog.warn({ err: (err as Error).message }, 'could not tell the coordinator that this worker left');
    }
    rlog.info({ steps: step, interrupted }, 'worker finished');
    model.dispose();
    return { rank, worldSize, steps: step, interrupted };
  } finally {
    if (heartbeat !== null) clearInterval(heartbeat);
    await collective?.close();
    client.close();
  }
}

/** Broadcast parameters and buffers from `root` so every replica starts identical. */
async function broadcastState(replica: Replica, collective: RingCollective, root: number): Promise<void> {
  const layout = stateLayout(replica.model);
  const state = exportState(replica.model);
  const flat = new Float32Array(layout.reduce((n, e) => n + state.get(e.name)!.length, 0));
  let off = 0;
  for (const e of layout) {
    flat.set(state.get(e.name)!, off);
    off += state.get(e.name)!.length;
  }
  await collective.broadcast(flat, root);
  off = 0;
  const back = new Map<string, Float32Array>();
  for (const e of layout) {
    const n = state.get(e.name)!.length;
    back.set(e.name, flat.slice(off, off + n));
    off += n;
  }
  importState(replica.model, back);
  replica.syncFromModel();
}

/** Average BatchNorm running statistics over the replicas (before evaluation and checkpoints). */
async function averageBuffers(replica: Replica, collective: RingCollective, worldSize: number): Promise<void> {
  const buffers = replica.model.buffers;
  if (buffers.length === 0 || worldSize === 1) return;
  const values = buffers.map((b) => b.variable.dataSync() as Float32Array);
  const flat = new Float32Array(values.reduce((n, v) => n + v.length, 0));
  let off = 0;
  for (const v of values) {
    flat.set(v, off);
    off += v.length;
  }
  await collective.allReduce(flat, {});
  const state = exportState(replica.model);
  off = 0;
  for (const b of buffers) {
    const n = b.variable.size;
    state.set(b.name, flat.subarray(off, off + n).map((v) => v / worldSize));
    off += n;
  }
  importState(replica.model, state);
}

/** Short digest of the flat parameters: equal on every rank when the replicas are in sync. */
export function paramsDigest(params: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(params.buffer, params.byteOffset, params.byteLength)).digest('hex').slice(0, 16);
}

/** Default pod name: the Kubernetes pod's hostname, or this machine's. */
export function defaultPodName(): string {
  return os.hostname();
}
