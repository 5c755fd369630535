/**
 * Training within one generation (one fixed ring): the coordinator's plans, a ring all-reduce of
 * gradients every step, evaluation and rank 0's checkpoints at epoch ends — until the run ends,
 * the ring must change, or it fails.
 *
 * Three control values travel at the end of every gradient all-reduce, so that every rank makes
 * the same decision after the step without an extra round trip (elastic Horovod checks for host
 * changes at commit time in the same spirit):
 *   [P]   this rank's share of the global batch (examples / batch size) — the update is the mean
 *         over the global batch even when an epoch's last step is uneven (1 on full steps, so the
 *         update is exactly DDP's mean of per-replica means);
 *   [P+1] 1 when this rank's loss or gradient is NaN/Inf — every rank then skips the update (or
 *         the run stops, `--on-nonfinite`) before anything is committed;
 *   [P+2] 1 when this rank knows of a pending membership change or is leaving (SIGTERM) — every
 *         rank then ends the generation after this step, at the same step boundary.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { encodeCheckpoint } from '../../core/checkpoint/checkpoint-file.js';
import { BatchIterator } from '../../core/training/batch-iterator.js';
import { ConfidenceAccumulator } from '../../core/training/confidence.js';
import { emptyEvalSums } from '../../core/training/loss-sums.js';
import type { TrainConfig } from '../../core/training/train-config.js';
import { RejoinRequired, type RejoinReason } from '../errors.js';
import type { Failpoints } from '../failpoints.js';
import type { WorkerMetricsHooks } from '../metrics/worker-metrics.js';
import { paramLayout } from '../models/flat-params.js';
import { prepareBatch, SAMPLE_FLOATS } from '../train/batch-input.js';
import type { Datasets } from '../train/datasets.js';
import type { GradientExchange, Replica } from '../train/replica.js';
import { captureCheckpoint } from '../train/train-checkpoint.js';
import { CoordinatorClient, float64FromBytes, int32FromBytes } from './coordinator-client.js';
import type { CoordinatorWatch } from './coordinator-watch.js';
import { averageBuffers, paramsDigest } from './replica-sync.js';
import type { RingCollective } from './ring-collective.js';

/** Evaluation batch size (no gradients). */
export const EVAL_BATCH_SIZE = 256;

export interface GenerationContext {
  readonly client: CoordinatorClient;
  readonly workerId: string;
  readonly config: TrainConfig;
  readonly data: Datasets;
  readonly replica: Replica;
  readonly collective: RingCollective;
  readonly watch: CoordinatorWatch;
  readonly log: Logger;
  readonly generation: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly startEpoch: number;
  /** True once this worker should leave at the next step boundary (SIGTERM). */
  readonly leaving: () => boolean;
  /** Global step of the replica's state; updated after every step. */
  readonly progress: { applied: number };
  readonly failpoints: Failpoints;
  /** [metrics hook] This process's /metrics. */
  readonly metrics?: WorkerMetricsHooks;
}

export type GenerationOutcome =
  | { readonly kind: 'finished' }
  | { readonly kind: 'boundary' }
  | { readonly kind: 'nonfinite'; readonly detail: string };

/** Turn a control-plane failure into a re-join, or rethrow it when it is a real error. */
export function rejoinOrThrow(err: unknown, generation: number): never {
  if (err instanceof RejoinRequired) throw err;
  const code = (err as grpc.ServiceError).code;
  const reasons: Partial<Record<number, RejoinReason>> = {
    [grpc.status.FAILED_PRECONDITION]: 'peer-failure',
    [grpc.status.NOT_FOUND]: 'identity-lost',
    [grpc.status.UNAVAILABLE]: 'coordinator-lost',
    [grpc.status.DEADLINE_EXCEEDED]: 'coordinator-lost',
    // Cancelled by this worker when its heartbeats found the coordinator gone (coordinator-watch.ts).
    [grpc.status.CANCELLED]: 'coordinator-lost',
  };
  const reason = typeof code === 'number' ? reasons[code] : undefined;
  if (reason !== undefined) throw new RejoinRequired(reason, generation, { cause: err });
  throw err;
}

/** Train the generation from `ctx.startEpoch` on; resolves at the run's end or a step boundary that ends the generation. */
export async function trainGeneration(ctx: GenerationContext): Promise<GenerationOutcome> {
  const { client, workerId, config, data, replica, collective, watch, log, generation, rank, worldSize } = ctx;
  const x = new Float32Array(config.batchSize * SAMPLE_FLOATS);
  let reports: Promise<void> = Promise.resolve();
  let reportError: unknown = null;
  const check = () => {
    if (watch.interrupt !== null) throw new RejoinRequired(watch.interrupt === 'abort' ? 'peer-failure' : watch.interrupt, generation);
    if (reportError !== null) rejoinOrThrow(reportError, generation);
  };
  const collectively = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      replica.abandonStep();
      throw err instanceof RejoinRequired ? err : new RejoinRequired(watch.interrupt === 'coordinator-lost' ? 'coordinator-lost' : 'peer-failure', generation, { cause: err });
    }
  };
  const control = <T>(call: () => Promise<T>): Promise<T> => call().catch((err: unknown) => rejoinOrThrow(err, generation));
  try {
    for (let epoch = ctx.startEpoch; epoch < config.epochs; epoch++) {
      check();
      const plan = await control(() => client.epochPlan(workerId, generation, epoch));
      const indices = int32FromBytes(plan.trainIndices);
      const lrs = float64FromBytes(plan.learningRates);
      const counts = int32FromBytes(plan.stepExamples);
      let step = Number(plan.firstStep);
      let offset = 0;
      for (let i = 0; i < lrs.length; i++) {
        check();
        const t0 = performance.now();
        const n = counts[i]!;
        const batch = indices.subarray(offset, offset + n);
        offset += n;
        let indexSum = 0;
        for (const v of batch) indexSum += v;
        const input = prepareBatch(data.train, batch, x, { augment: config.augment, seed: config.seed, epoch });
        const t1 = performance.now();
        ctx.failpoints.hit('forward', step + 1);
        const sampled = config.paramGradEverySteps > 0 && step % config.paramGradEverySteps === 0;
        let bytesSent = 0;
        let firstReduction = true;
        const exchange: GradientExchange = {
          share: n / config.batchSize,
          leaving: () => watch.pending || ctx.leaving(),
          allReduce: async (buffer) => {
            const pending = collective.allReduce(buffer, { step });
            if (firstReduction) {
              firstReduction = false;
              ctx.failpoints.hit('allreduce', step + 1);
            }
            bytesSent += (await pending).bytesSent;
          },
        };
        const result = await collectively(() =>
          replica.step(
            { x: input.x, labels: input.labels, loss: config.loss, epoch: epoch + 1, lr: lrs[i]!, splitThreshold: sampled ? config.highConfidenceThreshold : null, simulatedComputeMs: config.simulatedComputeMs },
            exchange,
          ),
        );
        const { stats, split, nonFinite: bad, decision } = result;
        if (bad !== null) log.error({ rank, step: step + 1, tensor: bad, policy: config.onNonfinite }, 'non-finite value before the all-reduce');
        const skipped = decision!.skipped;
        step++;
        ctx.progress.applied = step;
        const conf = new ConfidenceAccumulator(config.confidenceEdges);
        if (stats !== null) conf.addBatch(stats.logits, stats.gradLogits, input.labels, stats.numClasses);
        const { computeSeconds, allreduceSeconds, exposedAllreduceSeconds, updateSeconds } = result.timing;
        const report = {
          workerId, generation, rank, step, epoch: epoch + 1, examples: n, indexSum, skipped,
          lossSum: stats !== null && bad === null ? stats.loss * n : 0, baseSum: stats !== null && bad === null ? stats.base * n : 0,
          bonusSum: stats !== null && bad === null ? stats.bonus * n : 0, correct: stats?.correct ?? 0,
          binCounts: [...conf.counts], binGradNormSums: [...conf.gradNormSums], marginSum: conf.marginSum, pySum: conf.pySum,
          paramGradNormHigh: split?.high ?? Number.NaN, paramGradNormLow: split?.low ?? Number.NaN, learningRate: lrs[i]!,
          // Phases add up to the step: the all-reduce counts only where it was not hidden behind compute.
          dataSeconds: (t1 - t0) / 1000, computeSeconds, allreduceSeconds: exposedAllreduceSeconds, allreduceTotalSeconds: allreduceSeconds, updateSeconds,
          allreduceBytes: bytesSent,
        };
        ctx.metrics?.stepDone(report); // [metrics hook]
        // Reports are ordered but not awaited per step: the coordinator is off the critical path.
        reports = reports.then(() =>
          client.reportStep(report).then(
            (ack) => watch.apply(ack),
            (err: grpc.ServiceError) => {
              reportError ??= err;
              watch.failed(err);
            },
          ),
        );
        if (skipped && config.onNonfinite === 'stop') return { kind: 'nonfinite', detail: bad === null ? '' : `rank ${rank}, step ${step}, tensor ${bad}` };
        if (decision!.boundary) return { kind: 'boundary' };
      }
      await reports;
      check();
      await collectively(() => averageBuffers(replica, collective, worldSize));
      if (plan.evaluate) {
        const sums = emptyEvalSums(config.confidenceEdges.length - 1);
        const ex = new Float32Array(EVAL_BATCH_SIZE * SAMPLE_FLOATS);
        for (const b of new BatchIterator(int32FromBytes(plan.evalIndices), { batchSize: EVAL_BATCH_SIZE })) {
          const { x: xs, labels } = prepareBatch(data.test, b.indices, ex, { augment: false, seed: 0, epoch: 0 });
          await replica.evaluateBatch(xs, labels, config.loss, epoch + 1, config.confidenceEdges, sums);
        }
        const digest = await paramsDigest(replica);
        watch.apply(await control(() => client.reportEval({ workerId, generation, rank, epoch: epoch + 1, ...sums, paramsDigest: digest })));
      }
      if (plan.checkpointAtEnd && rank === 0) await control(() => uploadCheckpoint(ctx, epoch + 1, step));
    }
    return { kind: 'finished' };
  } finally {
    await reports;
  }
}

/** Rank 0 streams its replica's state of global step `step` to the coordinator. */
export async function uploadCheckpoint(ctx: GenerationContext, epoch: number, step: number): Promise<void> {
  const { config, replica } = ctx;
  const ckpt = await captureCheckpoint(replica, {
    experiment: config.experiment, seed: config.seed, batchSize: config.batchSize, worldSize: ctx.worldSize,
    epoch, position: 0, globalStep: step, history: [], trainSeconds: 0, trainImages: 0,
  });
  const t0 = performance.now();
  const upload = ctx.client.uploadCheckpoint(ctx.workerId, ctx.generation, step, encodeCheckpoint(ckpt));
  ctx.failpoints.hit('checkpoint', step);
  await upload;
  ctx.metrics?.checkpointDone((performance.now() - t0) / 1000); // [metrics hook]
  ctx.log.info({ step, seconds: (performance.now() - t0) / 1000 }, 'checkpoint uploaded');
}
