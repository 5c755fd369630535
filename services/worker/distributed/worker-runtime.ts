/**
 * A distributed worker process: read the run's config from the coordinator, load the data,
 * register, and then, generation after generation, take the ring the coordinator assigns, adopt
 * the ring's state and train (generation-trainer.ts) — PyTorch DDP semantics within a generation,
 * TorchElastic / elastic Horovod semantics across them: a lost peer, a joining or leaving worker,
 * or a restarted coordinator ends the generation, and the worker re-joins with the global step of
 * the state it holds, so the new ring resumes from the most advanced committed state (or from the
 * checkpoint when no worker has it).
 */
import * as os from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { decodeCheckpoint } from '../../core/checkpoint/checkpoint-file.js';
import { loadTls, type TlsMaterial, type TlsSettings } from '../../core/tls.js';
import { parseTrainConfig, type TrainConfig } from '../../core/training/train-config.js';
import { selectBackend } from '../backend/select-backend.js';
import { deviceLabel } from '../backend/webgpu-runtime.js';
import { RejoinRequired, type RejoinReason } from '../errors.js';
import { Failpoints } from '../failpoints.js';
import { createModel } from '../models/index.js';
import { loadDatasets } from '../train/datasets.js';
import { Replica } from '../train/replica.js';
import { bucketElements } from '../train/gradient-buckets.js';
import { restoreCheckpoint, validateCheckpoint, type TrainCheckpointMeta } from '../train/train-checkpoint.js';
import { CoordinatorClient, type Assignment } from './coordinator-client.js';
import { CoordinatorWatch } from './coordinator-watch.js';
import { trainGeneration, uploadCheckpoint, type GenerationContext } from './generation-trainer.js';
import { broadcastState } from './replica-sync.js';
import type { RingCollective } from './ring-collective.js';
import type { WorkerMetricsHooks } from '../metrics/worker-metrics.js'; // [metrics hook]

export { EVAL_BATCH_SIZE } from './generation-trainer.js';
export { paramsDigest } from './replica-sync.js';

export interface WorkerOptions {
  readonly coordinator: string;
  readonly pod: string;
  readonly localIndex: number;
  readonly joinToken: string;
  readonly logger: Logger;
  readonly tls?: TlsSettings | null;
  /** Give up when the coordinator stays unreachable this long. */
  readonly coordinatorLostTimeoutMs: number;
  /** Opens this worker's collective endpoint (host:port it advertises to the ring). */
  readonly openCollective: (config: TrainConfig, tls: TlsMaterial | null) => Promise<RingCollective>;
  /** Aborted on SIGTERM: the worker leaves at the next step boundary. */
  readonly signal?: AbortSignal;
  /** Chaos-test fail points (failpoints.ts). */
  readonly failpoints?: Failpoints;
  /** [metrics hook] Step timings, ring place and checkpoint durations for this process's /metrics. */
  readonly metrics?: WorkerMetricsHooks;
}

export interface WorkerResult {
  readonly rank: number;
  readonly worldSize: number;
  readonly steps: number;
  readonly interrupted: boolean;
  /** Generations this worker trained in. */
  readonly generations: number;
  readonly status: 'done' | 'left' | 'stopped' | 'nonfinite';
}

/** Pause between attempts to reach a coordinator that is down. */
const RECONNECT_PAUSE_MS = 500;

/** Run one worker until the run finishes, it leaves (SIGTERM) or the run fails. */
export async function runWorker(opts: WorkerOptions): Promise<WorkerResult> {
  const tls = loadTls(opts.tls ?? null);
  const client = new CoordinatorClient(opts.coordinator, tls);
  let collective: RingCollective | null = null;
  let watch: CoordinatorWatch | null = null;
  try {
    const run = await client.describeRun(opts.joinToken);
    const config = parseTrainConfig(JSON.parse(run.configJson) as Record<string, unknown>);
    const log = opts.logger.child({ experiment: run.experiment, pod: opts.pod, local: opts.localIndex });
    const { backend, adapter } = await selectBackend(config.backend, log);
    const device = deviceLabel(adapter);
    const data = await loadDatasets(config.data, config.seed, log);
    const ring = await opts.openCollective(config, tls);
    collective = ring;
    const model = createModel(config.model, { seed: config.seed });
    const replica = new Replica(model, { momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.nesterov }, bucketElements(config.allreduce.bucketMb));
    const w = new CoordinatorWatch({ address: opts.coordinator, tls: opts.tls ?? null }, log, (event) => {
      ring.abort(new RejoinRequired(event === 'abort' ? 'peer-failure' : event, known));
      // The coordinator answers again only after a restart or a heal: stop waiting on it.
      if (event === 'coordinator-lost') client.cancelInFlight();
    });
    watch = w;
    const progress = { applied: -1 };
    let workerId: string | null = null;
    let known = 0;
    let reason: RejoinReason | '' = '';
    let suspect = '';
    let lostSinceMs: number | null = null;
    let generations = 0;
    let current = { rank: 0, worldSize: 0 };
    const finish = async (how: WorkerResult['status'], leaveReason: 'done' | 'shutdown' | 'nonfinite', detail = ''): Promise<WorkerResult> => {
      if (workerId !== null) {
        try {
          await client.leave(workerId, known, leaveReason, detail);
        } catch (err) {
          // The run is over for this worker either way; a coordinator that already stopped is fine.
          log.warn({ err: (err as Error).message }, 'could not tell the coordinator that this worker left');
        }
      }
      log.info({ steps: progress.applied, status: how, generations }, 'worker finished');
      replica.dispose();
      return { ...current, steps: Math.max(0, progress.applied), interrupted: how === 'left' || how === 'stopped', generations, status: how };
    };
    const leaving = () => opts.signal?.aborted === true;
    for (;;) {
      if (leaving()) return await finish('left', 'shutdown');
      try {
        if (workerId === null) {
          const reg = await client.register({
            joinToken: opts.joinToken,
            worker: {
              collectiveAddress: ring.address, pod: opts.pod, localIndex: opts.localIndex, backend, device,
              configFingerprint: run.configFingerprint, trainExamples: data.train.count, testExamples: data.test.count,
            },
          });
          const id = reg.workerId;
          // A new identity means a new coordinator incarnation (or an eviction): its generations
          // are numbered afresh, so the collective forgets the old numbering.
          if (workerId === null && known > 0) ring.reset(new RejoinRequired('identity-lost', known));
          workerId = id;
          known = 0;
          // A new identity starts without state as far as the coordinator is concerned.
          progress.applied = -1;
          w.reset();
          w.start(id, reg.heartbeatIntervalMs, () => ({ generation: known, step: progress.applied }));
          log.info({ workerId: id }, 'registered');
        }
        // A long poll (or a wait for a vanished coordinator) must not delay SIGTERM.
        const a: Assignment | null = await untilAborted(client.waitAssignment(workerId, known, progress.applied, reason, suspect), opts.signal);
        if (a === null) return await finish('left', 'shutdown');
        lostSinceMs = null;
        if (a.finished) return await finish('done', 'done');
        if (!a.assigned || Number(a.generation) === known) continue;
        known = Number(a.generation);
        current = { rank: a.rank, worldSize: a.worldSize };
        w.reset();
        ring.reconfigure({ rank: a.rank, worldSize: a.worldSize, peers: a.ring, generation: known });
        const glog = log.child({ rank: a.rank, generation: known });
        opts.metrics?.joined({ experiment: run.experiment, rank: a.rank, worldSize: a.worldSize, generation: known, model: config.model, loss: config.loss.preset ?? 'custom', backend, device }); // [metrics hook]
        glog.info({ worldSize: a.worldSize, start: { step: Number(a.startStep), epoch: a.startEpoch + 1, position: Number(a.startPosition) }, stateSource: a.restoreFromCheckpoint ? 'checkpoint' : a.stateSourceRank }, 'joined the ring');
        await adoptState(a, { client, workerId, replica, ring, generation: known, config, log: glog });
        progress.applied = Number(a.startStep);
        generations++;
        reason = '';
        suspect = '';
        const ctx: GenerationContext = {
          client, workerId, config, data, replica, collective: ring, watch: w, log: glog, generation: known, rank: a.rank, worldSize: a.worldSize,
          startEpoch: a.startEpoch, leaving, progress, failpoints: opts.failpoints ?? new Failpoints(''), ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
        };
        if (a.stop) {
          if (a.rank === 0) await uploadCheckpoint(ctx, a.startEpoch, progress.applied);
          return await finish('stopped', 'shutdown');
        }
        const outcome = await trainGeneration(ctx);
        if (outcome.kind === 'finished') return await finish('done', 'done');
        if (outcome.kind === 'nonfinite') return await finish('nonfinite', 'nonfinite', outcome.detail);
        if (leaving()) return await finish('left', 'shutdown');
        reason = 'membership-change';
      } catch (err) {
        // A run that finished (or is stopping) while this worker was away: nothing left to do.
        if ((err as grpc.ServiceError).code === grpc.status.ABORTED && workerId === null) return await finish('done', 'done');
        reason = classify(err);
        suspect = err instanceof RejoinRequired ? err.suspect : '';
        if (reason === 'identity-lost') workerId = null;
        if (reason === 'coordinator-lost') {
          lostSinceMs ??= Date.now();
          if (Date.now() - lostSinceMs > opts.coordinatorLostTimeoutMs) throw new Error(`coordinator ${opts.coordinator} unreachable for ${opts.coordinatorLostTimeoutMs} ms`, { cause: err });
          await new Promise((r) => setTimeout(r, RECONNECT_PAUSE_MS));
        }
        log.warn({ reason, err: (err as Error).message }, 're-joining the rendezvous');
      }
    }
  } finally {
    watch?.stop();
    await collective?.close();
    client.close();
  }
}

/** `p`, or null as soon as `signal` aborts (the call itself runs on to its deadline). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T | null> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.resolve(null);
  return new Promise<T | null>((resolve, reject) => {
    const onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** Why an error ends the generation (re-join), or rethrow it when it is fatal (bad config, rejected join). */
function classify(err: unknown): RejoinReason {
  if (err instanceof RejoinRequired) return err.reason;
  const code = (err as grpc.ServiceError).code;
  if (code === grpc.status.NOT_FOUND) return 'identity-lost';
  if (code === grpc.status.UNAVAILABLE || code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.RESOURCE_EXHAUSTED || code === grpc.status.CANCELLED) return 'coordinator-lost';
  if (code === grpc.status.FAILED_PRECONDITION) return 'peer-failure';
  throw err;
}

/** Give this rank the ring's state: from the checkpoint, from a surviving rank, or rank 0's initialisation. */
async function adoptState(
  a: Assignment,
  s: { client: CoordinatorClient; workerId: string; replica: Replica; ring: RingCollective; generation: number; config: TrainConfig; log: Logger },
): Promise<void> {
  let root = a.stateSourceRank >= 0 ? a.stateSourceRank : 0;
  if (a.restoreFromCheckpoint) {
    root = 0;
    if (a.rank === 0) {
      const { step, bytes } = await s.client.fetchCheckpoint(s.workerId, s.generation);
      const ckpt = decodeCheckpoint<TrainCheckpointMeta>(bytes, `checkpoint of step ${step} from the coordinator`);
      validateCheckpoint(ckpt, s.config.model);
      restoreCheckpoint(s.replica, ckpt);
      s.log.info({ step }, 'restored the checkpoint');
    }
  }
  try {
    await broadcastState(s.replica, s.ring, root);
  } catch (err) {
    throw new RejoinRequired('peer-failure', s.generation, { cause: err });
  }
}

/** Default pod name: the Kubernetes pod's hostname, or this machine's. */
export function defaultPodName(): string {
  return os.hostname();
}
