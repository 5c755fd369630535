/**
 * `encourage train --workers N`: the torchrun experience on one machine — an in-process coordinator
 * on loopback plus N `encourage worker` child processes, one progress line fed by the coordinator's
 * merged step reports, and the same JSON summary as a single-process run plus `workers`,
 * `allreduceSeconds` and `allreduceBytes`.
 *
 * Elastic like torchrun's agent (worker-supervisor.ts): a worker that dies is evicted from the ring
 * at once (the launcher saw it exit, no heartbeat deadline to wait out), the others go on through
 * the coordinator's re-rendezvous, and it is restarted after a backoff to join back; when the
 * restart budget is used up the run goes on with fewer workers while `--min-workers` remain, and
 * stops with TooFewWorkersError below that. SIGTERM/SIGINT to the launcher stop the run at the next
 * step boundary with a checkpoint (`--resume` continues it). Workers run in their own process
 * group, so a Ctrl-C in the terminal reaches only the launcher, which then stops them in order.
 */
import { spawn } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { prettyLogLine, type LogFields } from '../core/logging.js';
import { metricsFlags, offsetListen, type MetricsListen } from '../core/metrics/metrics-options.js';
import { startCoordinatorMetrics } from '../coordinator/metrics/coordinator-metrics.js';
import type { TrainConfig } from '../core/training/train-config.js';
import { parseCoordinatorConfig } from '../coordinator/config.js';
import { Coordinator, type CoordinatorSummary } from '../coordinator/coordinator.js';
import { startCoordinatorServer } from '../coordinator/grpc-service.js';
import { generateJoinToken } from '../coordinator/join-token.js';
import { TLS_ENV_VARS } from '../core/tls.js';
import { TUNED_WORKER_ENV, TUNED_WORKER_EXEC_ARGV } from '../worker/collective/process-tuning.js';
import { createProgressLine } from '../worker/train/progress-line.js';
import { LOCAL_COORDINATOR_TIMEOUT_MS, LOCAL_RENDEZVOUS_GRACE_MS, WORKER_EXIT_GRACE_MS, type LauncherConfig } from './config.js';
import { TooFewWorkersError, describeExit } from './errors.js';
import { WorkerSupervisor, type WorkerExit } from './worker-supervisor.js';

const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** The pod name of a local run's workers; worker i is local index i. */
export const LOCAL_POD = 'local';

/** File (in the run directory) listing the run's /metrics targets for Prometheus' file_sd_configs. */
export const PROMETHEUS_TARGETS_FILE = 'prometheus-targets.json';

export interface LocalRunOptions {
  /**
   * Where the coordinator serves /metrics; worker i uses the same host and port + 1 + i (all
   * ephemeral when the port is 0). null: no metrics endpoints. Default: ephemeral on loopback.
   */
  readonly metrics?: MetricsListen | null;
  /** Bound to the coordinator's generation and step for the launcher's log lines. */
  readonly logFields?: LogFields;
}

/** A local run's summary: the coordinator's, plus what the launcher did with its processes. */
export interface LocalRunSummary extends CoordinatorSummary {
  /** Worker processes the launcher restarted (not to be confused with `restarts`, the ring's recoveries). */
  readonly workerRestarts: number;
  readonly maxRestarts: number;
  /** Every worker process that ended mid-run. */
  readonly workerExits: readonly WorkerExit[];
}

export interface LocalRunResult {
  readonly summary: LocalRunSummary;
  /** The signal that stopped the run (summary status `stopped`), else null. */
  readonly signal: 'SIGINT' | 'SIGTERM' | null;
  /** Set when the launcher stopped the run because too few workers remained (summary status `failed`). */
  readonly error: TooFewWorkersError | null;
}

/** Run `config` with the launcher's worker processes; resolves once the run has ended and every worker has exited. */
export async function launchLocalRun(config: TrainConfig, launcher: LauncherConfig, logger: Logger, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  const { workers } = launcher;
  const listen = options.metrics === undefined ? { host: '127.0.0.1', port: 0 } : options.metrics;
  // A loopback run needs no TLS (nothing leaves the machine), so ENCOURAGE_TLS_* variables meant
  // for pods are ignored here and kept from the workers; a fresh random join token keeps other
  // local users' processes from registering with this run (docs/security.md).
  const settings = parseCoordinatorConfig(
    { host: '127.0.0.1', port: 0, minWorkers: launcher.minWorkers, maxWorkers: workers, rendezvousGraceMs: LOCAL_RENDEZVOUS_GRACE_MS, joinToken: generateJoinToken() },
    {},
  );
  const workerEnv = withoutTlsEnv({ ...process.env, ...TUNED_WORKER_ENV, ENCOURAGE_JOIN_TOKEN: settings.joinToken ?? '' });
  const coordinator = new Coordinator(config, settings, logger.child({ component: 'coordinator' }));
  await coordinator.init();
  const metrics = await startCoordinatorMetrics(coordinator, listen, logger.child({ component: 'coordinator' }));
  options.logFields?.bind(() => metrics.metrics.logFields());
  let started: Awaited<ReturnType<typeof startCoordinatorServer>>;
  try {
    if (listen !== null && listen.port !== 0) await writeTargets(config.runDir, listen, workers);
    started = await startCoordinatorServer(coordinator, logger);
  } catch (err) {
    await metrics.close();
    throw err;
  }
  const { server, port } = started;
  const progress = createProgressLine();
  const relay = relayTo(process.stderr);
  let tooFew: TooFewWorkersError | null = null;
  const supervisor = new WorkerSupervisor({
    workers: launcher.workers,
    maxRestarts: launcher.maxRestarts,
    logger: logger.child({ component: 'launcher' }),
    runOver: () => coordinator.over,
    progress: () => coordinator.runState?.committedStep ?? 0,
    relay: (_index, line) => relay(line),
    // Workers run with the process settings the all-reduce was measured under (process-tuning.ts),
    // in their own process group (detached) so that only the launcher sees a terminal's Ctrl-C.
    start: (i) =>
      spawn(process.execPath, [
        ...TUNED_WORKER_EXEC_ARGV, CLI_MAIN, 'worker', '--coordinator', `127.0.0.1:${port}`, '--pod', LOCAL_POD, '--local-index', String(i), '--local-procs', '1',
        '--coordinator-timeout-ms', String(LOCAL_COORDINATOR_TIMEOUT_MS), '--log-level', logger.level, ...metricsFlags(listen === null ? null : offsetListen(listen, 1 + i)),
      ], { stdio: ['ignore', 'ignore', 'pipe'], env: workerEnv, detached: true }),
    onExit: (exit, remaining) => {
      // Out of the ring now: the survivors' round completes without waiting for a heartbeat
      // deadline, and the slot is free for the restarted process.
      coordinator.workerExited(LOCAL_POD, exit.worker, `process exited (${describeExit(exit.code, exit.signal)})`);
      if (exit.action === 'restarted') return;
      if (remaining < launcher.minWorkers) {
        tooFew ??= new TooFewWorkersError(exit.worker, exit.code, exit.signal, exit.lastLogLine, supervisor.restarts, launcher.maxRestarts, remaining, launcher.minWorkers);
        void coordinator.failRun(tooFew);
      } else coordinator.membership.lowerMaxWorkers(remaining);
    },
  });
  let signal: LocalRunResult['signal'] = null;
  const stop = (sig: 'SIGINT' | 'SIGTERM') => {
    if (signal !== null) return;
    signal = sig;
    progress.done();
    logger.warn({ signal: sig }, 'stopping: the ring checkpoints at the next step boundary, then the workers exit (resume with --resume)');
    void coordinator.stop();
  };
  const onSigint = () => stop('SIGINT');
  const onSigterm = () => stop('SIGTERM');
  let attach: NodeJS.Timeout | undefined;
  process.on('SIGTERM', onSigterm);
  process.on('SIGINT', onSigint);
  try {
    supervisor.start();
    attach = setInterval(() => {
      const run = coordinator.runState;
      if (run === null) return;
      clearInterval(attach);
      run.on('step', (s: { step: number; epoch: number; stepsPerEpoch: number; loss: number; accuracy: number; imagesPerSecond: number }) => {
        const inEpoch = s.step - (s.epoch - 1) * s.stepsPerEpoch;
        progress.update(`epoch ${s.epoch}/${config.epochs} step ${inEpoch}/${s.stepsPerEpoch} loss ${s.loss.toFixed(4)} acc ${s.accuracy.toFixed(3)} ${Math.round(s.imagesPerSecond)} img/s ×${coordinator.membership.worldSize}`, inEpoch / s.stepsPerEpoch);
      });
      run.on('epoch', () => progress.done());
    }, 50);
    const summary = await coordinator.done;
    // Let the workers' final calls (Leave, a stop checkpoint) land before the server goes away.
    await supervisor.drain(WORKER_EXIT_GRACE_MS);
    const error: TooFewWorkersError | null = tooFew;
    return {
      summary: { ...summary, workerRestarts: supervisor.restarts, maxRestarts: launcher.maxRestarts, workerExits: supervisor.exits },
      signal: summary.status === 'stopped' ? signal : null,
      error: summary.status === 'failed' ? error : null,
    };
  } catch (err) {
    await supervisor.killAll();
    throw err;
  } finally {
    clearInterval(attach);
    progress.done();
    process.off('SIGTERM', onSigterm);
    process.off('SIGINT', onSigint);
    coordinator.close();
    server.forceShutdown();
    await metrics.close();
  }
}

/** Relay workers' log lines to `stream`: as they are (JSON) for machines, pretty for a person at a terminal. */
function relayTo(stream: NodeJS.WriteStream): (line: string) => void {
  const pretty = stream.isTTY === true ? prettyLogLine() : (line: string) => line;
  return (line) => {
    stream.write(`${pretty(line)}\n`);
  };
}

/**
 * Write the run's scrape targets in file_sd format (https://prometheus.io/docs/guides/file-sd/), so
 * a local Prometheus whose `file_sd_configs` list `runs/<experiment>/prometheus-targets.json` scrapes
 * the run (docs/observability.md, "Scrape a local run").
 */
async function writeTargets(runDir: string, listen: MetricsListen, workers: number): Promise<void> {
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const target = (offset: number) => `${host}:${offsetListen(listen, offset).port}`;
  const groups = [
    { targets: [target(0)], labels: { job: 'encourage-coordinator' } },
    { targets: Array.from({ length: workers }, (_, i) => target(1 + i)), labels: { job: 'encourage-worker' } },
  ];
  // Atomically: Prometheus watches the file and must never read half of it.
  const tmp = join(runDir, `.${PROMETHEUS_TARGETS_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(groups, null, 2)}\n`);
  await rename(tmp, join(runDir, PROMETHEUS_TARGETS_FILE));
}

/** `env` without the ENCOURAGE_TLS_* variables. */
function withoutTlsEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of TLS_ENV_VARS) delete out[name];
  return out;
}
