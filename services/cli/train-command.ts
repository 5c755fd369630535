/**
 * `encourage train`: one training job, in this process or (`--workers N`) as a local distributed
 * job. Flags map one-to-one onto the keys of a JSON config file (`--config`), flags winning; the
 * worker's `parseTrainConfig` validates both. SIGTERM/SIGINT stop at the next step boundary after
 * writing a checkpoint (resume with --resume); the process then exits 143/130.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, InputError } from '../core/errors.js';
import { createLogger, LogFields, type Logger } from '../core/logging.js';
import { parseMetricsListen, type MetricsListen } from '../core/metrics/metrics-options.js';
import { parseTrainConfig, type TrainConfig } from '../core/training/train-config.js';
import { launchLocalRun } from './local-launcher.js';
import { train } from '../worker/train/trainer.js';
import { DEFAULT_MAX_RESTARTS, parseLauncherConfig, type LauncherConfig } from './config.js';
import { prettyLogs, printJsonLine } from './io.js';
import { addMetricsOptions } from './metrics-flags.js';
import { reportAtRunEnd } from './run-report.js';

/** Flag name (commander's camelCase attribute) → config key, where they differ. */
const FLAG_TO_KEY: Record<string, string> = { paramGradEvery: 'paramGradEverySteps', checkpointEvery: 'checkpointEverySteps' };

/** Add the run-configuration flags shared by `train` and `coordinator`. */
export function addTrainOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'JSON file with any of the options below (camelCase keys); flags override it')
    .option('--experiment <name>', 'experiment name (DNS label); names the run directory and metrics')
    .option('--data <kind>', 'synthetic | cifar10 (default: cifar10 when --data-dir is given, else synthetic)')
    .option('--data-dir <dir>', 'CIFAR-10 binary directory (or its parent), or where --download puts it')
    .option('--download', 'download CIFAR-10 into --data-dir first (MD5-checked, cached)')
    .option('--data-url <url>', 'mirror URL or local path of cifar-10-binary.tar.gz')
    .option('--synthetic-train <n>', 'synthetic training images')
    .option('--synthetic-test <n>', 'synthetic test images')
    .option('--model <name>', 'resnet18 | resnet20 | resnet32 | resnet56 | cnn-small | cnn-nobn')
    .option('--loss <preset|json>', 'loss preset (ce, el, el-full, …) or JSON options, see docs/loss.md')
    .option('--epochs <n>', 'epochs')
    .option('--batch-size <n>', 'per-worker batch size')
    .option('--lr <x>', 'peak learning rate')
    .option('--lr-scaling <mode>', 'none | linear (scale --lr by global batch/--lr-reference-batch, Goyal et al.)')
    .option('--lr-reference-batch <n>', 'batch size the --lr was tuned for')
    .option('--momentum <x>', 'SGD momentum')
    .option('--weight-decay <x>', 'L2 weight decay (not applied to BatchNorm and biases)')
    .option('--nesterov', 'Nesterov momentum')
    .option('--schedule <kind>', 'cosine | multistep | constant')
    .option('--warmup-epochs <x>', 'linear warm-up epochs')
    .option('--seed <n>', 'seed for init, data order, augmentation and synthetic data')
    .option('--backend <name>', 'auto | tensorflow | webgpu | wasm | cpu (webgpu: GPUs through Dawn/Vulkan, docs/gpu.md)')
    .option('--no-augment', 'disable random crop + flip')
    .option('--run-dir <dir>', 'run directory (default runs/<experiment>)')
    .option('--checkpoint-dir <dir>', 'checkpoint directory (default <run-dir>/checkpoints)')
    .option('--checkpoint-every <steps>', 'also checkpoint every N steps (0: epoch ends only; single process)')
    .option('--checkpoints-kept <n>', 'checkpoints to keep')
    .option('--resume', 'continue from the newest usable checkpoint')
    .option('--eval-every <epochs>', 'evaluate on the test set every N epochs (and after the last)')
    .option('--confidence-edges <list>', 'p_y bin edges, comma-separated, from 0 to 1')
    .option('--high-confidence-threshold <p>', 'p_y above which an example counts as high-confidence')
    .option('--param-grad-every <steps>', 'sample the high/low-confidence parameter-gradient norms every N steps (0: never)')
    .option('--max-steps-per-epoch <n>', 'cap steps per epoch (smoke tests, benchmarks)')
    .option('--allreduce-dtype <dtype>', 'float32 | float16 (wire compression; accumulation stays float32)')
    .option('--bucket-mb <mb>', 'all-reduce fusion bucket size')
    .option('--chunk-kb <kb>', 'all-reduce chunk size on the wire')
    .option('--allreduce-timeout-ms <ms>', 'how long an all-reduce waits for a silent peer before the step fails (default 30000)')
    .option('--simulated-compute-ms <ms>', 'benchmarks: distributed workers skip the model and simulate this much device time per step, spread over the gradient buckets (bench:ddp)')
    .option('--on-nonfinite <policy>', 'NaN/Inf in a loss or gradient: skip the update on every rank, or stop the run (skip | stop; default stop)')
    .option('--no-report', 'do not write the HTML report (<run-dir>/report) at the end of the run')
    .option('--log-level <level>', 'pino log level', 'info');
}

/** Flags that are not run configuration. */
const NON_CONFIG_FLAGS = new Set([
  'config', 'logLevel', 'report', 'workers', 'maxRestarts', 'port', 'host', 'minWorkers', 'maxWorkers', 'rendezvousGraceMs', 'joinToken', 'heartbeatIntervalMs', 'heartbeatTimeoutMs',
  'rendezvousTimeoutMs', 'tlsDir', 'tlsCa', 'tlsCert', 'tlsKey', 'tlsMutual', 'tlsServerName', 'metricsPort', 'metricsHost',
]);

/** Merge a config file and flags into a validated TrainConfig. */
export async function trainConfigFromFlags(flags: Record<string, unknown>): Promise<TrainConfig> {
  const raw = await readConfigFile(flags['config']);
  for (const [flag, value] of Object.entries(flags)) {
    if (NON_CONFIG_FLAGS.has(flag) || value === undefined) continue;
    if (flag === 'augment' && value === true) continue; // commander's default for --no-augment
    raw[FLAG_TO_KEY[flag] ?? flag] = flag === 'loss' ? parseLossFlag(value as string) : flag === 'confidenceEdges' ? parseList(value as string) : value;
  }
  return parseTrainConfig(raw);
}

/** Register `encourage train`. */
export function registerTrainCommand(program: Command): void {
  const cmd = program.command('train').description('Train a CIFAR-10 classifier with the encouraging loss: in this process, or with --workers N as a local distributed job (a coordinator plus N worker processes, like torchrun)');
  addLauncherOptions(addMetricsOptions(addTrainOptions(cmd), 'with --workers: the coordinator\'s, worker i gets port + 1 + i', '127.0.0.1')).action(async (flags: Record<string, unknown>) => {
    const config = await trainConfigFromFlags(flags);
    const job = trainJobFromFlags(flags);
    const fields = new LogFields();
    const logger = createLogger({ level: flags['logLevel'] as 'info', base: { experiment: config.experiment }, pretty: prettyLogs(), fields });
    const outcome = await runTrainJob(config, job, logger, fields);
    printJsonLine({ ...outcome.summary, history: undefined });
    process.exitCode = outcome.exitCode;
    if (outcome.error !== null) throw outcome.error;
  });
}

/** Add `--workers` and the local launcher's flags. */
export function addLauncherOptions(cmd: Command): Command {
  return cmd
    .option('--workers <n>', 'run distributed with N local worker processes (data parallel, ring all-reduce over gRPC)')
    .option('--max-restarts <k>', `with --workers: restart dead workers (signal or non-zero exit) up to K times in all, with backoff (default ${DEFAULT_MAX_RESTARTS})`)
    .option('--min-workers <n>', 'with --workers: once restarts are used up, go on while at least N workers remain, else stop (default 1)');
}

/** How a training job runs: where it reports, and (with --workers) the launcher's settings. */
export interface TrainJob {
  readonly launcher: LauncherConfig | null;
  readonly metrics: MetricsListen | null;
  readonly report: boolean;
}

/** Validate the job flags (not the run configuration): `--workers` and what goes with it. */
export function trainJobFromFlags(flags: Record<string, unknown>): TrainJob {
  if (flags['workers'] === undefined) {
    for (const [flag, key] of [['metrics-port', 'metricsPort'], ['metrics-host', 'metricsHost'], ['max-restarts', 'maxRestarts'], ['min-workers', 'minWorkers']] as const) {
      if (flags[key] !== undefined) throw new ConfigError(flag, flags[key], 'to be used with --workers (it configures the local launcher and its worker processes)');
    }
    return { launcher: null, metrics: null, report: flags['report'] !== false };
  }
  return {
    launcher: parseLauncherConfig({ workers: flags['workers'], minWorkers: flags['minWorkers'], maxRestarts: flags['maxRestarts'] }),
    metrics: parseMetricsListen(flags, { host: '127.0.0.1' }),
    report: flags['report'] !== false,
  };
}

/** What a finished (or stopped, or failed) job leaves: its summary with the report path, and the exit code. */
export interface TrainOutcome {
  readonly summary: Record<string, unknown> & { readonly runDir: string; readonly report: string | null };
  /** 0 succeeded, 1 failed, 130/143 stopped by SIGINT/SIGTERM. */
  readonly exitCode: number;
  /** Why the launcher stopped the run, to report after the summary (null: none). */
  readonly error: Error | null;
}

/** Exit code of a process stopped by a signal (128 + its number), as shells report it. */
export const EXIT_SIGINT = 130;
export const EXIT_SIGTERM = 143;

/** Run one training job (single process, or the local launcher) and render its report. */
export async function runTrainJob(config: TrainConfig, job: TrainJob, logger: Logger, fields?: LogFields): Promise<TrainOutcome> {
  if (job.launcher !== null) {
    const { summary, signal, error } = await launchLocalRun(config, job.launcher, logger, { metrics: job.metrics, ...(fields === undefined ? {} : { logFields: fields }) });
    // A run stopped before its first step has nothing to chart.
    const report = summary.steps > 0 ? await reportAtRunEnd(summary.runDir, job.report, logger) : null;
    const exitCode = summary.status === 'stopped' ? (signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM) : summary.status === 'failed' ? 1 : 0;
    return { summary: { ...summary, report }, exitCode, error };
  }
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const stop = (sig: NodeJS.Signals) => {
    logger.warn({ signal: sig }, 'stopping at the next step boundary');
    stoppedBy = sig;
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const summary = await train(config, logger.child({ rank: 0 }), controller.signal);
    const report = await reportAtRunEnd(summary.runDir, job.report, logger);
    return { summary: { ...summary, report }, exitCode: summary.interrupted ? (stoppedBy === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM) : 0, error: null };
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

async function readConfigFile(path: unknown): Promise<Record<string, unknown>> {
  if (path === undefined) return {};
  let text: string;
  try {
    text = await readFile(String(path), 'utf8');
  } catch (err) {
    throw new ConfigError('config', path, 'a readable JSON file', { cause: err });
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('top level must be an object');
    return doc as Record<string, unknown>;
  } catch (err) {
    throw new InputError(`invalid JSON config (${(err as Error).message})`, String(path), undefined, { cause: err });
  }
}

/** `--loss el` or `--loss '{"preset":"el","rho":0.5}'`. */
function parseLossFlag(value: string): unknown {
  if (!value.trim().startsWith('{')) return value;
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    throw new ConfigError('loss', value, 'a preset name or a JSON object', { cause: err });
  }
}

function parseList(value: string): number[] {
  return value.split(',').map((s) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n)) throw new ConfigError('confidence-edges', value, 'comma-separated numbers, e.g. 0,0.5,0.9,1');
    return n;
  });
}
