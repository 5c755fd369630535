/**
 * `encourage train` in one process: the standard CIFAR-10 recipe with the encouraging loss,
 * confidence analytics every step, atomic checkpoints and exact resume. The distributed worker
 * reuses `Replica`, the sampler and the analytics; this file is the single-replica driver.
 */
import type { Logger } from 'pino';
import { CheckpointStore } from '../../core/checkpoint/checkpoint-store.js';
import { selectBackend } from '../backend/select-backend.js';
import { deviceLabel, type GpuAdapterReport } from '../backend/webgpu-runtime.js';
import type { TrainConfig } from '../../core/training/train-config.js';
import { BatchIterator, batchesPerEpoch } from '../../core/training/batch-iterator.js';
import { DistributedSampler } from '../../core/training/distributed-sampler.js';
import { countTrainableParams, createModel } from '../models/index.js';
import { ConfidenceAccumulator } from '../../core/training/confidence.js';
import { accuracyFigures, type RunSummary } from '../../core/training/run-summary.js';
import { loadDatasets } from './datasets.js';
import { learningRate, scaleLearningRate } from '../../core/training/lr-schedule.js';
import { createProgressLine } from './progress-line.js';
import { prepareBatch, SAMPLE_FLOATS } from './batch-input.js';
import { emptyEvalSums, type EvalSums } from '../../core/training/loss-sums.js';
import { Replica } from './replica.js';
import { RunDir } from '../../core/training/run-dir.js';
import { captureCheckpoint, restoreCheckpoint, validateCheckpoint, type EpochRecord, type TrainCheckpointMeta } from './train-checkpoint.js';

/** Batch size of evaluation passes (no gradients, so larger than training's). */
export const EVAL_BATCH_SIZE = 256;

/** The single-process run's summary: the shared figures plus process-level details. */
export interface TrainSummary extends RunSummary {
  readonly parameters: number;
  readonly backendReason: string;
  /** The WebGPU adapter (webgpu only). */
  readonly adapter: GpuAdapterReport | null;
  readonly data: string;
  readonly interrupted: boolean;
  readonly resumedFromStep: number | null;
}

/** Run a training job to completion (or until `signal` aborts it, after a final checkpoint). */
export async function train(config: TrainConfig, logger: Logger, signal?: AbortSignal): Promise<TrainSummary> {
  const wallStart = performance.now();
  const { backend, reason, adapter } = await selectBackend(config.backend, logger);
  const data = await loadDatasets(config.data, config.seed, logger);
  const model = createModel(config.model, { seed: config.seed });
  const replica = new Replica(model, { momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov });
  const runDir = new RunDir(config.runDir);
  await runDir.init({ ...config, backend, backendReason: reason, device: deviceLabel(adapter) });
  const store = new CheckpointStore(config.checkpointDir, config.checkpointsKept, logger);
  const sampler = new DistributedSampler({ size: data.train.count, rank: 0, worldSize: 1, shuffle: true, seed: config.seed });
  const fullEpochSteps = batchesPerEpoch(sampler.numSamples, config.batchSize);
  const stepsPerEpoch = config.maxStepsPerEpoch > 0 ? Math.min(config.maxStepsPerEpoch, fullEpochSteps) : fullEpochSteps;
  const baseLr = config.lrScaling === 'linear' ? scaleLearningRate(config.lr, config.batchSize, config.lrReferenceBatch) : config.lr;
  const lrOf = (step: number) => learningRate({ kind: config.schedule, baseLr, epochs: config.epochs, warmupEpochs: config.warmupEpochs, stepsPerEpoch }, step);

  let epoch = 0;
  let position = 0;
  let globalStep = 0;
  let history: EpochRecord[] = [];
  let trainSeconds = 0;
  let trainImages = 0;
  let resumedFromStep: number | null = null;
  if (config.resume) {
    const found = await store.loadLatest<TrainCheckpointMeta>((c) => validateCheckpoint(c, config.model));
    if (found === null) {
      logger.warn({ dir: config.checkpointDir }, 'no usable checkpoint to resume from; starting fresh');
    } else {
      restoreCheckpoint(replica, found.checkpoint);
      ({ epoch, position, globalStep, trainSeconds, trainImages } = found.checkpoint.meta);
      history = [...found.checkpoint.meta.history];
      resumedFromStep = globalStep;
      await runDir.truncateAfter(globalStep);
      logger.info({ path: found.path, epoch, position, step: globalStep }, 'resumed from checkpoint');
    }
  }
  logger.info({ experiment: config.experiment, model: config.model, parameters: countTrainableParams(model), data: data.source, backend, stepsPerEpoch }, 'training');

  const meta = (): Omit<TrainCheckpointMeta, 'kind' | 'model' | 'sgdInitialised'> => ({
    experiment: config.experiment, seed: config.seed, batchSize: config.batchSize, worldSize: 1,
    epoch, position, globalStep, history, trainSeconds, trainImages,
  });
  const checkpoint = async () => {
    const t = performance.now();
    const { path, bytes } = await store.save(globalStep, await captureCheckpoint(replica, meta()));
    logger.info({ path, bytes, step: globalStep, ms: Math.round(performance.now() - t) }, 'checkpoint written');
  };

  const confidence = new ConfidenceAccumulator(config.confidenceEdges);
  let lastConfidence = confidence.table();
  const x = new Float32Array(config.batchSize * SAMPLE_FLOATS);
  const progress = createProgressLine();
  let interrupted = false;

  while (epoch < config.epochs && !interrupted) {
    sampler.setEpoch(epoch);
    const shard = sampler.indices();
    const batches = new BatchIterator(shard, { batchSize: config.batchSize, start: position });
    const epochStart = performance.now();
    const sums = { loss: 0, base: 0, bonus: 0, correct: 0, examples: 0 };
    confidence.reset();
    let stepInEpoch = Math.ceil(position / config.batchSize);
    for (const batch of batches) {
      if (stepInEpoch >= stepsPerEpoch) break;
      const t0 = performance.now();
      const { x: xs, labels } = prepareBatch(data.train, batch.indices, x, { augment: config.augment, seed: config.seed, epoch });
      const sampleSplit = config.paramGradEverySteps > 0 && globalStep % config.paramGradEverySteps === 0;
      const lr = lrOf(globalStep);
      const result = await replica.step({ x: xs, labels, loss: config.loss, epoch: epoch + 1, lr, splitThreshold: sampleSplit ? config.highConfidenceThreshold : null });
      const stats = result.stats!;
      const split = result.split;
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      trainImages += labels.length;
      globalStep++;
      stepInEpoch++;
      position = batch.end;
      confidence.addBatch(stats.logits, stats.gradLogits, labels, stats.numClasses);
      sums.loss += stats.loss * labels.length;
      sums.base += stats.base * labels.length;
      sums.bonus += stats.bonus * labels.length;
      sums.correct += stats.correct;
      sums.examples += labels.length;
      const stepConfidence = new ConfidenceAccumulator(config.confidenceEdges);
      stepConfidence.addBatch(stats.logits, stats.gradLogits, labels, stats.numClasses);
      const t = stepConfidence.table();
      runDir.record({
        type: 'step', step: globalStep, epoch: epoch + 1, lr, loss: stats.loss, base: stats.base, bonus: stats.bonus,
        accuracy: stats.correct / labels.length, seconds, imagesPerSecond: labels.length / seconds,
        binCounts: t.bins.map((b) => b.count), binMeanGradNorm: t.bins.map((b) => b.meanGradNorm), binGradMassShare: t.bins.map((b) => b.gradMassShare),
        meanMargin: t.meanMargin, meanPy: t.meanPy,
        ...(split === null ? {} : { paramGradNormHigh: split.high, paramGradNormLow: split.low, highExamples: split.highExamples }),
      });
      progress.update(
        `epoch ${epoch + 1}/${config.epochs} step ${stepInEpoch}/${stepsPerEpoch} loss ${(sums.loss / sums.examples).toFixed(4)} acc ${(sums.correct / sums.examples).toFixed(3)} ${Math.round(trainImages / trainSeconds)} img/s`,
        stepInEpoch / stepsPerEpoch,
      );
      if (config.checkpointEverySteps > 0 && globalStep % config.checkpointEverySteps === 0) {
        await runDir.flush();
        await checkpoint();
      }
      if (signal?.aborted === true) {
        interrupted = true;
        break;
      }
    }
    progress.done();
    if (interrupted) break;
    lastConfidence = confidence.table();
    const last = epoch + 1 === config.epochs;
    const evalSums = (epoch + 1) % config.evalEvery === 0 || last ? await evaluate(replica, data.test, config, epoch + 1) : null;
    const record: EpochRecord = {
      epoch: epoch + 1, step: globalStep,
      trainLoss: sums.loss / sums.examples, trainBase: sums.base / sums.examples, trainBonus: sums.bonus / sums.examples,
      trainAccuracy: sums.correct / sums.examples,
      testLoss: evalSums === null ? null : evalSums.lossSum / evalSums.examples,
      testBase: evalSums === null ? null : evalSums.baseSum / evalSums.examples,
      testBonus: evalSums === null ? null : evalSums.bonusSum / evalSums.examples,
      testAccuracy: evalSums === null ? null : evalSums.correct / evalSums.examples,
      imagesPerSecond: sums.examples / ((performance.now() - epochStart) / 1000),
      seconds: (performance.now() - epochStart) / 1000,
    };
    history.push(record);
    runDir.record({
      type: 'epoch', ...record, confidence: lastConfidence,
      ...(evalSums === null ? {} : { testBinExamples: evalSums.binExamples, testBinAccuracy: evalSums.binCorrect.map((c, i) => (evalSums.binExamples[i]! > 0 ? c / evalSums.binExamples[i]! : null)) }),
    });
    logger.info({ ...record }, 'epoch done');
    epoch++;
    position = 0;
    await runDir.flush();
    await checkpoint();
  }
  if (interrupted) {
    await runDir.flush();
    await checkpoint();
    logger.warn({ step: globalStep, epoch: epoch + 1 }, 'interrupted: checkpoint written, resume with --resume');
  }
  const summary: TrainSummary = {
    experiment: config.experiment, model: config.model, parameters: countTrainableParams(model),
    loss: config.loss.preset ?? 'custom', backend, backendReason: reason, device: deviceLabel(adapter), adapter, data: data.source,
    epochs: history.length, steps: globalStep,
    ...accuracyFigures(history),
    imagesPerSecond: trainSeconds > 0 ? trainImages / trainSeconds : 0,
    wallSeconds: (performance.now() - wallStart) / 1000,
    interrupted, resumedFromStep, runDir: config.runDir, confidence: lastConfidence, history,
  };
  runDir.record({ type: 'summary', step: globalStep, ...summary, history: undefined });
  await runDir.flush();
  replica.dispose();
  return summary;
}

/** Test-set pass with running statistics; the bonus is reported, not added. */
async function evaluate(replica: Replica, test: { images: Uint8Array; labels: Uint8Array; count: number }, config: TrainConfig, epoch: number): Promise<EvalSums> {
  const sums = emptyEvalSums(config.confidenceEdges.length - 1);
  const x = new Float32Array(EVAL_BATCH_SIZE * SAMPLE_FLOATS);
  const all = Int32Array.from({ length: test.count }, (_, i) => i);
  for (const batch of new BatchIterator(all, { batchSize: EVAL_BATCH_SIZE })) {
    const { x: xs, labels } = prepareBatch(test, batch.indices, x, { augment: false, seed: 0, epoch: 0 });
    await replica.evaluateBatch(xs, labels, config.loss, epoch, config.confidenceEdges, sums);
  }
  return sums;
}
