/**
 * `encourage coordinator`: the control plane of one distributed run — what the coordinator pod
 * runs. It takes the same run flags as `train`, waits for workers, drives the run and prints the
 * run's JSON summary. SIGTERM stops it (resumable from its checkpoint directory).
 */
import type { Command } from 'commander';
import { createLogger, LogFields } from '../core/logging.js';
import { parseMetricsListen } from '../core/metrics/metrics-options.js';
import { loadTls } from '../core/tls.js';
import { parseCoordinatorConfig, WORKER_LEAVE_GRACE_MS } from '../coordinator/config.js';
import { Coordinator } from '../coordinator/coordinator.js';
import { shutdownServer, startCoordinatorServer } from '../coordinator/grpc-service.js';
import { startCoordinatorMetrics } from '../coordinator/metrics/coordinator-metrics.js';
import { startStatusUpdates } from '../coordinator/operator/status-writer.js';
import { addMetricsOptions } from './metrics-flags.js';
import { addTlsOptions } from './tls-flags.js';
import { prettyLogs, printJsonLine } from './io.js';
import { reportAtRunEnd } from './run-report.js';
import { addTrainOptions, trainConfigFromFlags } from './train-command.js';

/** Register `encourage coordinator`. */
export function registerCoordinatorCommand(program: Command): void {
  const cmd = program.command('coordinator').description('Run the coordinator of a distributed training run (workers join with `encourage worker`)');
  addMetricsOptions(addTlsOptions(addTrainOptions(cmd), 'coordinator'), 'a fixed port (e.g. 9400) in a pod, so scrape configs can name it')
    .option('--host <host>', 'listen address', '0.0.0.0')
    .option('--port <port>', 'gRPC port (coordinator service + grpc.health.v1)', '7070')
    .option('--min-workers <n>', 'start when this many workers have joined', '1')
    .option('--max-workers <n>', 'wait (up to --rendezvous-grace-ms) for this many workers')
    .option('--rendezvous-grace-ms <ms>', 'how long to wait for more than --min-workers')
    .option('--join-token <token>', 'shared secret workers must present (env ENCOURAGE_JOIN_TOKEN)')
    .option('--heartbeat-interval-ms <ms>', 'how often workers send heartbeats (default 2000)')
    .option('--heartbeat-timeout-ms <ms>', 'a worker silent this long is lost and the ring re-forms (default 10000)')
    .option('--rendezvous-timeout-ms <ms>', 'how long a re-rendezvous waits for silent members and for --min-workers before the run fails (default 600000)')
    .option('--experiment-ref <namespace/name>', 'Kubernetes Experiment whose status gets this run\'s progress (in-cluster service account or KUBECONFIG)')
    .action(async ({ experimentRef, ...flags }: Record<string, unknown>) => {
      const config = await trainConfigFromFlags(flags);
      const settings = parseCoordinatorConfig(flags);
      // Unreadable or non-PEM TLS files fail here, before the run directory is touched.
      loadTls(settings.tls);
      const listen = parseMetricsListen(flags);
      const fields = new LogFields();
      const logger = createLogger({ level: flags['logLevel'] as 'info', base: { experiment: config.experiment, component: 'coordinator' }, pretty: prettyLogs(), fields });
      const coordinator = new Coordinator(config, settings, logger);
      const status = experimentRef === undefined ? null : startStatusUpdates(coordinator, experimentRef, logger);
      await coordinator.init();
      const metrics = await startCoordinatorMetrics(coordinator, listen, logger);
      fields.bind(() => metrics.metrics.logFields());
      const { server } = await startCoordinatorServer(coordinator, logger);
      const stopped = new Promise<null>((resolve) => {
        const stop = () => resolve(null);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
      // SIGTERM: stop accepting work, let the ring checkpoint at the next step boundary, then exit.
      const first = await Promise.race([coordinator.done, stopped]);
      const summary = first ?? (await coordinator.stop());
      // Let the workers' final calls (Leave) land before the server goes away.
      await coordinator.allLeft(WORKER_LEAVE_GRACE_MS);
      await status?.stop();
      coordinator.close();
      await shutdownServer(server);
      await metrics.close();
      const report = await reportAtRunEnd(summary.runDir, flags['report'] !== false, logger);
      printJsonLine({ ...summary, history: undefined, report });
      if (summary.status === 'stopped') {
        logger.warn({ step: summary.steps }, 'stopped by signal; resume with --resume');
        process.exitCode = 143;
      } else if (summary.status === 'failed') process.exitCode = 1;
      // The run is over and its summary is out: end the process even if a hung client (a
      // SIGSTOPped worker) still holds a connection open. stdout is synchronous for files and pipes.
      process.exit();
    });
}
