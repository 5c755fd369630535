/**
 * `encourage compare`: the paper's comparison as one command — train the same job under several
 * losses (default CE, then EL) on the same data, seed and workers, one after the other (on a small
 * machine that is as fast as side by side, and each run gets the whole machine), then write the
 * side-by-side report and print the headline figures: each run's test accuracy and the share of
 * its last epoch's logit-gradient mass that came from well-classified examples (p_y ≥ 0.5), the
 * quantity the encouraging loss is meant to keep from vanishing. The README's main job.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { createLogger, LogFields, type Logger } from '../core/logging.js';
import { parseTrainConfig } from '../core/training/train-config.js';
import { prettyLogs, printJsonLine } from './io.js';
import { addMetricsOptions } from './metrics-flags.js';
import { addLauncherOptions, addTrainOptions, runTrainJob, trainConfigFromFlags, trainJobFromFlags, type TrainOutcome } from './train-command.js';

/** Losses compared when `--losses` is not given: the baseline and the paper's recommended preset. */
export const DEFAULT_COMPARED_LOSSES = ['ce', 'el'] as const;
/** The comparison report's directory inside the comparison's directory. */
export const COMPARE_REPORT_DIR = 'report';

/** The headline figures of one run. */
export interface RunHeadline {
  readonly testAccuracy: number | null;
  /** Share of the last epoch's logit-gradient mass from examples with p_y ≥ `highConfidenceFrom`. */
  readonly highConfidenceGradShare: number | null;
  readonly highConfidenceFrom: number | null;
  /** Mean p_y of the last epoch's training examples. */
  readonly meanPy: number | null;
}

/** Register `encourage compare`. */
export function registerCompareCommand(program: Command): void {
  const cmd = program
    .command('compare')
    .description('Train the same job under several losses (default: ce, then el) with the same data, seed and workers, then write the side-by-side report and print the headline figures');
  addLauncherOptions(addMetricsOptions(addTrainOptions(cmd), 'with --workers: the coordinator\'s, worker i gets port + 1 + i', '127.0.0.1'))
    .option('--losses <list>', `comma-separated loss presets to compare, in order (default ${DEFAULT_COMPARED_LOSSES.join(',')})`)
    .action(async (flags: Record<string, unknown>) => {
      const losses = parseLosses(flags['losses']);
      if (flags['loss'] !== undefined) throw new ConfigError('loss', flags['loss'], 'not to be used with compare (it sets each run\'s loss from --losses)');
      if (flags['checkpointDir'] !== undefined) throw new ConfigError('checkpoint-dir', flags['checkpointDir'], 'not to be used with compare (each run keeps its checkpoints in its own run directory)');
      const { losses: _, ...trainFlags } = flags;
      // The comparison's own name and directory; run k is `<experiment>-<loss>` in `<dir>/<loss>`.
      const base = await trainConfigFromFlags(trainFlags);
      const configs = await Promise.all(losses.map((loss) => trainConfigFromFlags({ ...trainFlags, loss, experiment: `${base.experiment}-${loss}`, runDir: join(base.runDir, loss) })));
      const job = { ...trainJobFromFlags(flags), report: false };
      const fields = new LogFields();
      const logger = createLogger({ level: flags['logLevel'] as 'info', base: { experiment: base.experiment }, pretty: prettyLogs(), fields });
      const outcomes: TrainOutcome[] = [];
      for (const [k, config] of configs.entries()) {
        logger.info({ run: `${k + 1}/${configs.length}`, loss: losses[k], runDir: config.runDir }, 'training');
        const outcome = await runTrainJob(config, job, logger.child({ loss: losses[k] }), fields);
        outcomes.push(outcome);
        if (outcome.exitCode !== 0) break;
      }
      const runs = Object.fromEntries(outcomes.map((o, k) => [losses[k]!, { ...o.summary, history: undefined }]));
      const failed = outcomes.find((o) => o.exitCode !== 0);
      if (failed !== undefined) {
        // A stopped or failed run ends the comparison: what ran is reported, nothing is compared.
        printJsonLine({ status: failed.exitCode === 1 ? 'failed' : 'stopped', experiment: base.experiment, losses, headline: null, runs, report: null });
        process.exitCode = failed.exitCode;
        if (failed.error !== null) throw failed.error;
        return;
      }
      const dirs = configs.map((c) => c.runDir);
      const headline = await headlines(dirs, losses);
      const report = flags['report'] === false ? null : await comparisonReport(dirs, join(base.runDir, COMPARE_REPORT_DIR), logger);
      printJsonLine({
        status: 'succeeded', experiment: base.experiment, losses,
        headline: {
          testAccuracy: Object.fromEntries(losses.map((l, k) => [l, headline[k]!.testAccuracy])),
          highConfidenceGradShare: Object.fromEntries(losses.map((l, k) => [l, headline[k]!.highConfidenceGradShare])),
          highConfidenceFrom: headline[0]!.highConfidenceFrom,
          meanPy: Object.fromEntries(losses.map((l, k) => [l, headline[k]!.meanPy])),
        },
        runs, report,
      });
    });
}

/** `--losses ce,el` → distinct preset names, at least two, each one `parseTrainConfig` accepts. */
export function parseLosses(value: unknown): string[] {
  const list = value === undefined ? [...DEFAULT_COMPARED_LOSSES] : String(value).split(',').map((s) => s.trim());
  const expected = 'at least two distinct loss presets, comma-separated (e.g. ce,el)';
  if (list.length < 2 || list.some((l) => l === '') || new Set(list).size !== list.length) throw new ConfigError('losses', value, expected);
  for (const loss of list) {
    try {
      parseTrainConfig({ loss, data: 'synthetic' }, {});
    } catch (err) {
      throw new ConfigError('losses', loss, `${expected}; see docs/loss.md for the presets`, { cause: err });
    }
  }
  return list;
}

/** Each run's headline figures, read back from its run directory the way the report reads them. */
async function headlines(dirs: readonly string[], losses: readonly string[]): Promise<RunHeadline[]> {
  const { loadRun } = await import('../report/load-run.js');
  const { runFigures } = await import('../report/run-figures.js');
  return Promise.all(
    dirs.map(async (dir, k) => {
      const f = runFigures(await loadRun(dir), losses[k]!);
      return { testAccuracy: f.testAccuracy, highConfidenceGradShare: f.highConfidenceGradShare, highConfidenceFrom: f.highConfidenceFrom, meanPy: f.meanPy };
    }),
  );
}

/** The side-by-side report; like a run's own report, failing to render it is logged, not fatal. */
async function comparisonReport(dirs: readonly string[], out: string, logger: Logger): Promise<string | null> {
  try {
    // Loaded on use: vega and resvg are only needed here.
    const { writeReport } = await import('../report/write-report.js');
    return (await writeReport(dirs, { out, logger: logger.child({ component: 'report' }) })).report;
  } catch (err) {
    logger.error({ err, dirs }, 'could not write the comparison report (the runs are unaffected; retry with `encourage report`)');
    return null;
  }
}
