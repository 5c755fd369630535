/**
 * Screenshot of a run report in headless Chromium, for the docs (docs/images/report.png):
 *
 *   npm run -s build && node dist/scripts/report-screenshot.js REPORT_HTML OUT_PNG [--width W] [--height H] [--full-page]
 *
 * The viewport defaults to 1320×1500 CSS pixels (the summary table and the comparison charts).
 * Prints `{ screenshot, width, height }` as the last stdout line.
 */
import { parseArgs } from 'node:util';
import { launchChromium } from '../services/report/chromium-harness.js';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { width: { type: 'string', default: '1320' }, height: { type: 'string', default: '1500' }, 'full-page': { type: 'boolean', default: false } },
});
const [report, out] = positionals;
if (report === undefined || out === undefined) {
  process.stderr.write('usage: report-screenshot REPORT_HTML OUT_PNG [--width W] [--height H] [--full-page]\n');
  process.exit(2);
}
const width = Number(values.width);
const height = Number(values.height);
if (!Number.isInteger(width) || width < 320 || !Number.isInteger(height) || height < 240) {
  process.stderr.write(`report-screenshot: --width/--height must be integers ≥ 320/240, got ${values.width}×${values.height}\n`);
  process.exit(2);
}
const browser = await launchChromium();
try {
  const page = await browser.open(report, { width, height });
  await page.screenshot({ path: out, fullPage: values['full-page'] });
  process.stdout.write(`${JSON.stringify({ screenshot: out, width, height })}\n`);
} finally {
  await browser.close();
}
