/**
 * The coordinator's half of an Experiment's status (`encourage coordinator --experiment-ref ns/name`):
 * it listens to the run's progress events and merge-patches epoch, step, testAccuracy,
 * bestTestAccuracy, restarts and lastCheckpoint into the status subresource — at most once per
 * `minIntervalMs` for steps, at once at every epoch end, and a last time when the run stops. Merge
 * patches naming only these fields leave the operator's fields (phase, conditions, …) alone. A
 * failing API never fails the run: writes are retried at the next opportunity.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CheckpointStore } from '../../core/checkpoint/checkpoint-store.js';
import { ConfigError } from '../../core/errors.js';
import type { EpochRecord } from '../../core/training/checkpoint-meta.js';
import { rfc3339, type ExperimentStatus } from './experiment-types.js';
import { apiStatusCode, KubeApi, loadKubeConfig } from './kube-api.js';

/** Shortest interval between two step-driven writes. */
export const STATUS_MIN_INTERVAL_MS = 5_000;
/** How often the coordinator is polled for a new run (a rendezvous creates one) and new checkpoints. */
export const STATUS_POLL_MS = 250;

export interface ExperimentRef {
  readonly namespace: string;
  readonly name: string;
}

/** Parse `--experiment-ref namespace/name`. */
export function parseExperimentRef(value: unknown): ExperimentRef {
  const m = typeof value === 'string' ? /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.exec(value) : null;
  if (m === null) throw new ConfigError('experimentRef', value, 'namespace/name of an Experiment');
  return { namespace: m[1]!, name: m[3]! };
}

export type ProgressStatus = Pick<ExperimentStatus, 'epoch' | 'step' | 'testAccuracy' | 'bestTestAccuracy' | 'restarts' | 'lastCheckpoint'>;

export interface StatusPatcher {
  patchExperimentStatus(namespace: string, name: string, patch: object): Promise<unknown>;
}

/** What the writer reads from the coordinator (public members only). */
export interface ProgressSource {
  readonly runState: (NodeJS.EventEmitter & { readonly lastCheckpointStep: number | null; readonly history: readonly EpochRecord[] }) | null;
  readonly membership: { readonly generation: number };
  readonly config: { readonly checkpointDir: string };
  /** The coordinator's own counters: `restarts` = the ring restarted from a checkpoint after a loss (resizes are not restarts). */
  cluster?(): { readonly restarts: number };
}

/** Restarts as the coordinator counts them; without its counters, every re-rendezvous. */
function restartsOf(source: ProgressSource): number {
  return source.cluster?.().restarts ?? Math.max(0, source.membership.generation - 1);
}

export class StatusWriter {
  private progress: ProgressStatus = {};
  private written: string = JSON.stringify({});
  private lastWriteMs = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private disabled = false;
  private lastErrorLogMs = -Infinity;

  constructor(
    private readonly api: StatusPatcher,
    readonly ref: ExperimentRef,
    private readonly logger: Logger,
    private readonly minIntervalMs = STATUS_MIN_INTERVAL_MS,
  ) {}

  /** Merge new progress values; `force` writes now (epoch ends), else within the throttle. */
  update(values: ProgressStatus, force = false): void {
    this.progress = { ...this.progress, ...values };
    if (this.disabled) return;
    if (this.inFlight !== null) {
      this.again = true;
      return;
    }
    const wait = force ? 0 : Math.max(0, this.lastWriteMs + this.minIntervalMs - Date.now());
    if (wait === 0) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.inFlight = this.write().finally(() => {
        this.inFlight = null;
        if (this.again) {
          this.again = false;
          this.update({});
        }
      });
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.update({}, true);
      }, wait);
      this.timer.unref();
    }
  }

  /** The last values handed to `update`. */
  get current(): ProgressStatus {
    return this.progress;
  }

  private async write(): Promise<void> {
    const body = JSON.stringify(this.progress);
    if (body === this.written) return;
    this.lastWriteMs = Date.now();
    try {
      await this.api.patchExperimentStatus(this.ref.namespace, this.ref.name, { status: this.progress });
      this.written = body;
    } catch (err) {
      const code = apiStatusCode(err);
      if (code === 404) {
        this.disabled = true;
        this.logger.warn({ experiment: `${this.ref.namespace}/${this.ref.name}` }, 'experiment not found; no more status updates');
        return;
      }
      // Retried with the next update; logged at most once a minute.
      if (Date.now() - this.lastErrorLogMs > 60_000) {
        this.lastErrorLogMs = Date.now();
        this.logger.warn({ experiment: `${this.ref.namespace}/${this.ref.name}`, code, err: (err as Error).message }, 'could not write experiment status');
      }
    }
  }

  /** Write whatever is pending and stop. */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight !== null) await this.inFlight;
    if (!this.disabled) await this.write();
    this.disabled = true;
  }
}

/**
 * Feed `writer` from a coordinator: attaches to each run the coordinator creates (before the
 * rendezvous there is none; a coordinator rewritten for elastic re-rendezvous may create several)
 * and watches for new checkpoints and generations. Returns a stop function.
 */
export function followCoordinator(source: ProgressSource, writer: StatusWriter, pollMs = STATUS_POLL_MS): () => void {
  let attached: ProgressSource['runState'] = null;
  let checkpointStep: number | null = null;
  let restarts = restartsOf(source);
  let epochInProgress = 0;
  const onStep = (s: { step: number; epoch: number }) => {
    epochInProgress = Math.max(epochInProgress, s.epoch);
    writer.update({ step: s.step, epoch: epochInProgress });
  };
  const onEpoch = (r: EpochRecord) => {
    epochInProgress = Math.max(epochInProgress, r.epoch);
    const history = attached?.history ?? [r];
    const accuracies = history.map((h) => h.testAccuracy).filter((a): a is number => a !== null);
    const best = accuracies.length === 0 ? undefined : Math.max(...accuracies, writer.current.bestTestAccuracy ?? 0);
    writer.update({ epoch: epochInProgress, step: r.step, ...(r.testAccuracy === null ? {} : { testAccuracy: r.testAccuracy }), ...(best === undefined ? {} : { bestTestAccuracy: best }) }, true);
  };
  const onCheckpoint = (c: { step: number; path: string }) => {
    checkpointStep = c.step;
    writer.update({ lastCheckpoint: { step: c.step, path: c.path, time: rfc3339(Date.now()) } }, true);
  };
  const poll = () => {
    const run = source.runState;
    if (run !== attached) {
      attached?.off('step', onStep).off('epoch', onEpoch).off('checkpoint', onCheckpoint);
      run?.on('step', onStep).on('epoch', onEpoch).on('checkpoint', onCheckpoint);
      attached = run;
    }
    if (restartsOf(source) !== restarts) {
      restarts = restartsOf(source);
      writer.update({ restarts }, true);
    }
    // Fallback for a run that records checkpoints without a 'checkpoint' event.
    const step = run?.lastCheckpointStep ?? null;
    if (step !== null && step !== checkpointStep) {
      checkpointStep = step;
      writer.update({ lastCheckpoint: { step, path: join(source.config.checkpointDir, CheckpointStore.fileName(step)), time: rfc3339(Date.now()) } }, true);
    }
  };
  writer.update({ restarts });
  poll();
  const timer = setInterval(poll, pollMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    poll();
    attached?.off('step', onStep).off('epoch', onEpoch).off('checkpoint', onCheckpoint);
  };
}

/**
 * `encourage coordinator --experiment-ref ns/name`: follow `coordinator` into the Experiment's
 * status through the Kubernetes API (KubeConfig's default chain). `stop` writes the final values.
 */
export function startStatusUpdates(coordinator: ProgressSource, refFlag: unknown, logger: Logger): { stop(): Promise<void> } {
  const writer = new StatusWriter(new KubeApi(loadKubeConfig()), parseExperimentRef(refFlag), logger);
  const unfollow = followCoordinator(coordinator, writer);
  logger.info({ experiment: refFlag }, 'writing progress into the Experiment status');
  return {
    stop: async () => {
      unfollow();
      await writer.close();
    },
  };
}
