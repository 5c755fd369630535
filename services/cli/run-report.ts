/**
 * The report every training run writes at its end (`<run-dir>/report/index.html`), called by the
 * CLI after the single-process trainer, the local distributed launcher and the coordinator have
 * their summary. A report is a by-product: failing to render one is logged and never fails a run
 * that has finished, so this resolves to null instead of throwing.
 */
import type { Logger } from 'pino';

/** Render the run's report unless disabled (`--no-report`); resolves to its path, or null. */
export async function reportAtRunEnd(runDir: string, enabled: boolean, logger: Logger): Promise<string | null> {
  if (!enabled) return null;
  try {
    // Loaded on use, like `encourage report`: vega and resvg are only needed here.
    const { writeReport } = await import('../report/write-report.js');
    const { report } = await writeReport([runDir], { logger: logger.child({ component: 'report' }) });
    return report;
  } catch (err) {
    logger.error({ err, runDir }, 'could not write the run report (the run itself is unaffected; retry with `encourage report`)');
    return null;
  }
}
