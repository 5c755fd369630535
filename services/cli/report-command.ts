/**
 * `encourage report RUN_DIR [RUN_DIR…] [--out DIR]`: write the HTML + PNG report of one or more
 * runs (side-by-side comparison charts for several) and print `{ report, charts, … }` as the last
 * stdout line. Training runs write their own report at the end (see run-report.ts); this command
 * renders one on demand, e.g. mid-run, or to compare CE and EL runs.
 */
import type { Command } from 'commander';
import { createLogger } from '../core/logging.js';
import { printJsonLine } from './io.js';

/** Register `encourage report`. */
export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('Write an HTML report with PNG charts (accuracy, loss parts, gradient by confidence bin; CE vs EL side by side for several runs)')
    .argument('<run-dirs...>', 'run directories (each holding metrics.jsonl)')
    .option('--out <dir>', 'output directory (default: <run-dir>/report for one run, report-<a>-vs-<b> beside the first run for several)')
    .option('--log-level <level>', 'pino log level', 'info')
    .action(async (runDirs: string[], flags: { out?: string; logLevel: string }) => {
      const logger = createLogger({ level: flags.logLevel as 'info', base: { component: 'report' } });
      // Loaded on use: vega and resvg cost a quarter second at import that other commands need not pay.
      const { writeReport } = await import('../report/write-report.js');
      const result = await writeReport(runDirs, { ...(flags.out === undefined ? {} : { out: flags.out }), logger });
      printJsonLine({ report: result.report, charts: result.charts, skipped: result.skipped, runs: result.runs });
    });
}
