/**
 * `encourage worker`: what a worker pod runs. With `--local-procs auto|K` it starts one worker
 * process per visible GPU (CUDA_VISIBLE_DEVICES set per child), or K processes on CPU, and waits
 * for them — how one multi-GPU pod hosts several ranks. SIGTERM is forwarded to the children.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createLogger, LogFields } from '../core/logging.js';
import { metricsFlags, offsetListen, parseMetricsListen, type MetricsListen } from '../core/metrics/metrics-options.js';
import { startMetricsServer } from '../core/metrics/metrics-server.js';
import { parseWorkerConfig, visibleGpus } from '../worker/config.js';
import { openCollectiveNode } from '../worker/distributed/collective-adapter.js';
import { runWorker } from '../worker/distributed/worker-runtime.js';
import { Failpoints } from '../worker/failpoints.js';
import { TUNED_WORKER_ENV, TUNED_WORKER_EXEC_ARGV } from '../worker/collective/process-tuning.js';
import { WorkerMetrics } from '../worker/metrics/worker-metrics.js';
import { prettyLogs, printJsonLine } from './io.js';
import { addMetricsOptions } from './metrics-flags.js';
import { addTlsOptions } from './tls-flags.js';

const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** Register `encourage worker`. */
export function registerWorkerCommand(program: Command): void {
  const cmd = program.command('worker').description('Join a distributed run as a worker (the coordinator sends the run configuration)');
  addMetricsOptions(addTlsOptions(cmd, 'worker'), 'with --local-procs K, process i serves port + i')
    .option('--coordinator <host:port>', 'coordinator address (env ENCOURAGE_COORDINATOR)')
    .option('--pod <name>', 'pod name; same-pod ranks are ring neighbours (env POD_NAME, default hostname)')
    .option('--local-procs <auto|k>', 'processes in this pod: auto = one per visible GPU (else 1), or K', 'auto')
    .option('--local-index <i>', 'index of this process in the pod (set by --local-procs)')
    .option('--collective-host <host>', 'address ring neighbours use to reach this worker (env POD_IP)')
    .option('--collective-port <port>', 'port of the collective service (0: ephemeral)')
    .option('--join-token <token>', 'the run\'s join token (env ENCOURAGE_JOIN_TOKEN)')
    .option('--coordinator-timeout-ms <ms>', 'give up when the coordinator stays unreachable this long (default 600000)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (flags: Record<string, unknown>) => {
      const cfg = parseWorkerConfig(flags);
      const listen = parseMetricsListen(flags);
      const gpus = visibleGpus();
      const procs = cfg.localProcs === 'auto' ? Math.max(1, gpus.length) : cfg.localProcs;
      if (procs > 1) {
        process.exitCode = await runLocalProcs(procs, gpus, flags, listen);
        return;
      }
      const metrics = new WorkerMetrics();
      const fields = new LogFields();
      fields.bind(() => metrics.logFields());
      const logger = createLogger({ level: flags['logLevel'] as 'info', base: { pod: cfg.pod, local: cfg.localIndex }, pretty: prettyLogs(), fields });
      const server = listen === null ? null : await startMetricsServer({ registry: metrics.registry, listen, logger, role: 'worker' });
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        const result = await runWorker({
          coordinator: cfg.coordinator, pod: cfg.pod, localIndex: cfg.localIndex, joinToken: cfg.joinToken, logger, signal: controller.signal, metrics,
          tls: cfg.tls, coordinatorLostTimeoutMs: cfg.coordinatorLostTimeoutMs, failpoints: new Failpoints(cfg.failpoints, cfg.localIndex),
          openCollective: (config, tls) => openCollectiveNode(cfg.collectiveHost, cfg.collectivePort, config, logger, tls),
        });
        printJsonLine(result);
        // A run that stopped on NaN/Inf is a failed run for whoever supervises this process.
        if (result.status === 'nonfinite') process.exitCode = 1;
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        await server?.close();
      }
    });
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** Flags a `--local-procs K` parent hands to each of its K processes (TLS included; the token goes by env). */
export const LOCAL_PROCS_PASSTHROUGH = ['coordinator', 'pod', 'collectiveHost', 'logLevel', 'coordinatorTimeoutMs', 'tlsDir', 'tlsCa', 'tlsCert', 'tlsKey', 'tlsMutual', 'tlsServerName'] as const;

/** A fixed `--collective-port P` gives process i of the pod port P + i (0 stays ephemeral). */
export function collectivePortFlag(flags: Record<string, unknown>, i: number): string[] {
  const base = Number(flags['collectivePort'] ?? 0);
  return Number.isInteger(base) && base > 0 ? ['--collective-port', String(base + i)] : [];
}

/** Start `procs` single-process workers of this pod and wait for all; returns the worst exit code. */
async function runLocalProcs(procs: number, gpus: string[], flags: Record<string, unknown>, listen: MetricsListen | null): Promise<number> {
  const passthrough = LOCAL_PROCS_PASSTHROUGH.filter((k) => flags[k] !== undefined).flatMap((k) => (flags[k] === true ? [`--${kebab(k)}`] : [`--${kebab(k)}`, String(flags[k])]));
  // The join token travels in the environment, not in argv: any user of the node can read a
  // process's command line (ps), only its owner its environment (docs/security.md).
  const token = typeof flags['joinToken'] === 'string' ? { ENCOURAGE_JOIN_TOKEN: flags['joinToken'] } : {};
  const children = Array.from({ length: procs }, (_, i) =>
    spawn(process.execPath, [...TUNED_WORKER_EXEC_ARGV, CLI_MAIN, 'worker', ...passthrough, ...collectivePortFlag(flags, i), ...metricsFlags(listen === null ? null : offsetListen(listen, i)), '--local-procs', '1', '--local-index', String(i)], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, ...TUNED_WORKER_ENV, ...token, ...(gpus.length > 0 ? { CUDA_VISIBLE_DEVICES: gpus[i % gpus.length]! } : {}) },
    }),
  );
  const forward = (sig: NodeJS.Signals) => children.forEach((c) => c.kill(sig));
  process.on('SIGTERM', forward);
  try {
    const codes = await Promise.all(children.map((c) => new Promise<number>((resolve) => c.on('exit', (code) => resolve(code ?? 1)))));
    return Math.max(...codes);
  } finally {
    process.off('SIGTERM', forward);
  }
}
