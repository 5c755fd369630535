/**
 * `encourage operator`: the Kubernetes operator of Experiments (what the chart's Deployment runs).
 * Serves grpc.health.v1 (SERVING once its caches have synced — the kubelet's probes and
 * `helm test` ask it) and /metrics; SIGTERM stops the informers, lets in-flight reconciles finish
 * and exits 0, printing a JSON summary.
 */
import * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { shutdownServer } from '../coordinator/grpc-service.js';
import { HealthImplementation } from 'grpc-health-check';
import { createLogger } from '../core/logging.js';
import { startMetricsServer } from '../core/metrics/metrics-server.js';
import { ExperimentController } from '../coordinator/operator/controller.js';
import { loadKubeConfig } from '../coordinator/operator/kube-api.js';
import { DEFAULT_CONCURRENCY, DEFAULT_EXPERIMENT_BACKEND, DEFAULT_GPU_IMAGE, DEFAULT_HEALTH_PORT, DEFAULT_IMAGE, DEFAULT_OPERATOR_METRICS_PORT, DEFAULT_RESYNC_SECONDS, parseOperatorConfig } from '../coordinator/operator/operator-config.js';
import { printJsonLine } from './io.js';
import { addMetricsOptions } from './metrics-flags.js';

/** The gRPC health service name of the operator (besides '' for the whole server). */
export const OPERATOR_HEALTH_SERVICE = 'encourage.v1.Operator';

const collect = (value: string, previous: string[]) => [...previous, value];

/** Register `encourage operator`. */
export function registerOperatorCommand(program: Command): void {
  const cmd = program
    .command('operator')
    .description('Run the Kubernetes operator: reconcile Experiments (encourage.dev/v1alpha1) into coordinator and worker pods')
    .option('--namespace <ns>', 'namespace to watch (repeatable or comma-separated; default: all namespaces)', collect, [])
    .option('--image <image>', `image of coordinators and CPU workers (default ${DEFAULT_IMAGE})`)
    .option('--gpu-image <image>', `image of workers with gpusPerPod > 0 (default ${DEFAULT_GPU_IMAGE})`)
    .option('--default-backend <name>', `backend of Experiments without spec.backend: auto|tensorflow|webgpu|wasm|cpu (default ${DEFAULT_EXPERIMENT_BACKEND})`)
    .option('--coordinator-service-account <name>', 'ServiceAccount of coordinator pods (default encourage-coordinator)')
    .option('--resync-seconds <s>', `reconcile every Experiment at least this often (default ${DEFAULT_RESYNC_SECONDS})`)
    .option('--concurrency <n>', `Experiments reconciled in parallel (default ${DEFAULT_CONCURRENCY})`)
    .option('--watch-timeout-seconds <s>', 'server-side timeout of each watch (jittered up to 2×)')
    .option('--health-port <port>', `grpc.health.v1 port (default ${DEFAULT_HEALTH_PORT}; 0: ephemeral)`)
    .option('--health-host <host>', 'grpc.health.v1 listen address (default 0.0.0.0)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)')
    .option('--experiment-tls-secret <name>', 'kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) in each experiment namespace: experiment pods speak TLS')
    .option('--experiment-tls-mutual', 'experiment pods require client certificates (mutual TLS)')
    .option('--experiment-tls-server-name <name>', 'name the experiment certificates carry (pods dial each other by IP)')
    .option('--bind-pod-ip', 'make experiment pods bind their servers to the pod IP (hosts where pods share one network namespace)')
    .option('--log-level <level>', 'pino log level', 'info');
  addMetricsOptions(cmd, `default ${DEFAULT_OPERATOR_METRICS_PORT}`).action(async (flags: Record<string, unknown>) => {
    const config = parseOperatorConfig(flags);
    const logger = createLogger({ level: flags['logLevel'] as 'info', base: { component: 'operator' } });
    const kc = loadKubeConfig(config.kubeconfig);
    const controller = new ExperimentController(kc, { namespaces: config.namespaces, resyncMs: config.resyncMs, concurrency: config.concurrency, watchTimeoutSeconds: config.watchTimeoutSeconds, settings: config.build }, logger);

    const health = new HealthImplementation({ '': 'NOT_SERVING', [OPERATOR_HEALTH_SERVICE]: 'NOT_SERVING' });
    const server = new grpc.Server();
    health.addToServer(server);
    const healthPort = await new Promise<number>((resolve, reject) => server.bindAsync(`${config.health.host}:${config.health.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err))));
    const metrics = config.metrics === null ? null : await startMetricsServer({ registry: controller.metrics.registry, listen: config.metrics, logger, role: 'operator' });
    logger.info({ healthPort, metricsUrl: metrics?.url ?? null, namespaces: config.namespaces ?? 'all' }, 'operator starting');

    const stopped = new Promise<'stopped'>((resolve) => {
      const stop = () => resolve('stopped');
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    const first = await Promise.race([controller.start().then(() => 'synced' as const), stopped]);
    if (first === 'synced') {
      for (const service of ['', OPERATOR_HEALTH_SERVICE]) health.setStatus(service, 'SERVING');
      await stopped;
    }
    for (const service of ['', OPERATOR_HEALTH_SERVICE]) health.setStatus(service, 'NOT_SERVING');
    logger.info('stopping: informers first, then in-flight reconciles');
    await controller.stop();
    await metrics?.close();
    await shutdownServer(server);
    printJsonLine({ stopped: true, synced: first === 'synced', experiments: controller.experiments().length, healthPort, metricsPort: metrics?.port ?? null });
  });
}
