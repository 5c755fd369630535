/**
 * `encourage train --workers N`: the torchrun experience on one machine — an in-process coordinator
 * on loopback plus N `encourage worker` child processes, one progress line fed by the coordinator's
 * merged step reports, and the same JSON summary as a single-process run plus `workers`,
 * `allreduceSeconds` and `allreduceBytes`. SIGTERM/SIGINT are forwarded to the workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { EncourageError } from '../core/errors.js';
import type { LogFields } from '../core/logging.js';
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

const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
/** How long workers get to exit after the run finished before they are killed. */
export const WORKER_EXIT_GRACE_MS = 10_000;

/** A worker process failed before the run finished. */
export class WorkerProcessError extends EncourageError {
  override readonly name = 'WorkerProcessError';
  constructor(
    readonly localIndex: number,
    readonly code: number | null,
    readonly signal: string | null,
  ) {
    super(`worker ${localIndex} exited early (code ${code}, signal ${signal})`);
  }
}

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

/** Run `config` with `workers` local worker processes; resolves with the coordinator's summary. */
export async function launchLocalRun(config: TrainConfig, workers: number, logger: Logger, options: LocalRunOptions = {}): Promise<CoordinatorSummary> {
  const listen = options.metrics === undefined ? { host: '127.0.0.1', port: 0 } : options.metrics;
  // A loopback run needs no TLS (nothing leaves the machine), so ENCOURAGE_TLS_* variables meant
  // for pods are ignored here and kept from the workers; a fresh random join token keeps other
  // local users' processes from registering with this run (docs/security.md).
  const settings = parseCoordinatorConfig({ host: '127.0.0.1', port: 0, minWorkers: workers, maxWorkers: workers, rendezvousGraceMs: 0, joinToken: generateJoinToken() }, {});
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
  const children: ChildProcess[] = [];
  const progress = createProgressLine();
  let failure: WorkerProcessError | null = null;
  let rejectEarly!: (e: Error) => void;
  const early = new Promise<never>((_, reject) => (rejectEarly = reject));
  const forward = (sig: NodeJS.Signals) => children.forEach((c) => c.kill(sig));
  let attach: NodeJS.Timeout | undefined;
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  try {
    for (let i = 0; i < workers; i++) {
      // Workers run with the process settings the all-reduce was measured under (process-tuning.ts).
      const child = spawn(process.execPath, [...TUNED_WORKER_EXEC_ARGV, CLI_MAIN, 'worker', '--coordinator', `127.0.0.1:${port}`, '--pod', 'local', '--local-index', String(i), '--local-procs', '1', '--log-level', logger.level, ...metricsFlags(listen === null ? null : offsetListen(listen, 1 + i))], {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: workerEnv,
      });
      child.on('exit', (code, signal) => {
        if (coordinator.runState?.finished !== true) {
          failure = new WorkerProcessError(i, code, signal);
          rejectEarly(failure);
        }
      });
      children.push(child);
    }
    attach = setInterval(() => {
      const run = coordinator.runState;
      if (run === null) return;
      clearInterval(attach);
      run.on('step', (s: { step: number; epoch: number; stepsPerEpoch: number; loss: number; accuracy: number; imagesPerSecond: number }) => {
        const inEpoch = s.step - (s.epoch - 1) * s.stepsPerEpoch;
        progress.update(`epoch ${s.epoch}/${config.epochs} step ${inEpoch}/${s.stepsPerEpoch} loss ${s.loss.toFixed(4)} acc ${s.accuracy.toFixed(3)} ${Math.round(s.imagesPerSecond)} img/s ×${workers}`, inEpoch / s.stepsPerEpoch);
      });
      run.on('epoch', () => progress.done());
    }, 50);
    const summary = await Promise.race([coordinator.done, early]);
    await Promise.all(children.map((c) => waitExit(c, WORKER_EXIT_GRACE_MS)));
    return summary;
  } catch (err) {
    children.forEach((c) => c.kill('SIGKILL'));
    throw failure ?? err;
  } finally {
    clearInterval(attach);
    progress.done();
    process.off('SIGTERM', forward);
    process.off('SIGINT', forward);
    coordinator.close();
    server.forceShutdown();
    await metrics.close();
  }
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

function waitExit(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
