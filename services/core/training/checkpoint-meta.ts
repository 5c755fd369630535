/**
 * The metadata of a training checkpoint and of one epoch's record, shared by the single-process
 * trainer, the distributed workers (rank 0 captures the state) and the coordinator (which writes
 * checkpoints and resumes runs from them).
 */

export interface EpochRecord {
  readonly epoch: number;
  readonly step: number;
  readonly trainLoss: number;
  readonly trainBase: number;
  readonly trainBonus: number;
  readonly trainAccuracy: number;
  readonly testLoss: number | null;
  readonly testBase: number | null;
  readonly testBonus: number | null;
  readonly testAccuracy: number | null;
  readonly imagesPerSecond: number;
  readonly seconds: number;
}

export interface TrainCheckpointMeta {
  readonly kind: 'encourage-train';
  readonly experiment: string;
  readonly model: string;
  readonly seed: number;
  readonly batchSize: number;
  readonly worldSize: number;
  /** 0-based epoch in progress. */
  readonly epoch: number;
  /** Samples of this epoch's shard already consumed. */
  readonly position: number;
  readonly globalStep: number;
  readonly sgdInitialised: boolean;
  readonly history: readonly EpochRecord[];
  readonly trainSeconds: number;
  readonly trainImages: number;
  /** Written by the coordinator of a distributed run (absent in single-process checkpoints). */
  readonly lineage?: RunLineage;
}

/** A distributed run's elastic history, so that a restarted coordinator continues it. */
export interface RunLineage {
  /** Samples per epoch (fixed for the run). */
  readonly epochSamples: number;
  /** Generations of the committed lineage: where each started and with how many ranks. */
  readonly segments: readonly { generation: number; worldSize: number; start: { step: number; epoch: number; position: number } }[];
  /** 1-based epochs whose records are in `history`. */
  readonly closedEpochs: readonly number[];
  readonly restarts: number;
  readonly resizes: number;
  readonly workersLost: number;
  readonly secondsLost: number;
  readonly skippedSteps: number;
  /** Wall clock (ms since the epoch) when the checkpoint was written. */
  readonly savedAtMs: number;
  readonly allreduceSeconds: number;
  readonly allreduceBytes: number;
}

