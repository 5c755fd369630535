/**
 * The report as users get it: two real short training runs (CE in one process, EL as a local
 * distributed run with 2 workers) write their own reports at the end; `encourage report` compares
 * them; headless Chromium opens the pages and every chart must be there and decoded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChromiumMissingError, CHROMIUM_PATH, launchChromium, pageImages, type BrowserSession } from '../report/chromium-harness.js';
import { lastJsonLine, runCli } from './cli-harness.js';

const SHORT_RUN = ['--data', 'synthetic', '--model', 'cnn-small', '--synthetic-train', '512', '--synthetic-test', '256', '--batch-size', '32', '--epochs', '2', '--param-grad-every', '4', '--log-level', 'warn'];
const RUN_CHARTS = ['accuracy', 'loss parts', 'gradient magnitude by confidence', 'gradient-mass share by confidence', 'high- vs low-confidence parameter gradient'];

interface ReportLine {
  report: string;
  charts: { id: string; title: string; run: string | null; path: string }[];
  runs: { label: string; loss: string; workers: number; status: string; epochs: number }[];
}

/** Open a report and return what the browser shows: title, section ids and every image's state. */
async function inspect(browser: BrowserSession, file: string) {
  const page = await browser.open(file);
  try {
    return {
      title: await page.title(),
      sections: await page.$$eval('section', (s) => s.map((x) => x.id)),
      tableRows: await page.$$eval('#summary-table tbody tr', (rows) => rows.map((r) => r.querySelector('td')?.textContent ?? '')),
      images: await pageImages(page),
    };
  } finally {
    await page.close();
  }
}

test('training runs write reports; encourage report compares CE and EL; Chromium shows every chart', async () => {
  assert.ok(existsSync(CHROMIUM_PATH), new ChromiumMissingError(CHROMIUM_PATH).message);
  const root = await mkdtemp(join(tmpdir(), 'report-cli-'));
  const [ce, el] = await Promise.all([
    runCli(['train', ...SHORT_RUN, '--loss', 'ce', '--experiment', 'ce', '--run-dir', join(root, 'ce')]),
    runCli(['train', ...SHORT_RUN, '--workers', '2', '--loss', 'el', '--experiment', 'el', '--run-dir', join(root, 'el')]),
  ]);
  assert.equal(ce.code, 0, ce.stderr.slice(-2000));
  assert.equal(el.code, 0, el.stderr.slice(-2000));
  // The end-of-run report, in the summary JSON: single process and the local distributed launcher.
  assert.equal(lastJsonLine(ce.stdout)['report'], join(root, 'ce', 'report', 'index.html'));
  assert.equal(lastJsonLine(el.stdout)['report'], join(root, 'el', 'report', 'index.html'));
  assert.ok(existsSync(join(root, 'el', 'report', 'el-grad-norm-heatmap.png')));

  const out = join(root, 'compare');
  const res = await runCli(['report', join(root, 'ce'), join(root, 'el'), '--out', out, '--log-level', 'warn']);
  assert.equal(res.code, 0, res.stderr.slice(-2000));
  const line = lastJsonLine<ReportLine>(res.stdout);
  assert.equal(line.report, join(out, 'index.html'));
  assert.deepEqual(line.charts.filter((c) => c.run === null).map((c) => c.id), ['compare-test-accuracy', 'compare-high-confidence-share', 'compare-grad-by-bin']);
  assert.equal(line.charts.length, 3 + 2 * RUN_CHARTS.length);
  assert.deepEqual(line.runs.map((r) => [r.label, r.loss, r.workers, r.status, r.epochs]), [['ce', 'ce', 1, 'finished', 2], ['el', 'el', 2, 'finished', 2]]);

  const browser = await launchChromium();
  try {
    const compare = await inspect(browser, line.report);
    assert.equal(compare.title, 'Encourage report: ce, el');
    assert.deepEqual(compare.sections, ['summary', 'comparison', 'run-ce', 'run-el']);
    assert.deepEqual(compare.tableRows, ['ce', 'el']);
    assert.equal(compare.images.length, line.charts.length);
    for (const img of compare.images) {
      assert.ok(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0, `chart ${img.chart} (${img.alt}) not decoded: ${JSON.stringify(img)}`);
      assert.ok(img.srcIsDataUri, `chart ${img.chart} is embedded`);
    }
    const alts = compare.images.map((i) => i.alt);
    const expected = [
      'Test accuracy by run', 'High-confidence share of the gradient (p_y ≥ 0.5)', 'Gradient magnitude by confidence, last epoch',
      ...['ce', 'el'].flatMap((run) => RUN_CHARTS.map((c) => `${run}: ${c}`)),
    ];
    assert.deepEqual(alts, expected);

    const single = await inspect(browser, join(root, 'el', 'report', 'index.html'));
    assert.deepEqual(single.sections, ['summary', 'run-el'], 'one run: no comparison section');
    assert.deepEqual(single.images.map((i) => i.alt), RUN_CHARTS.map((c) => `el: ${c}`));
    assert.ok(single.images.every((i) => i.complete && i.naturalWidth > 0));
  } finally {
    await browser.close();
  }
});

test('encourage report: paths that are not run directories exit 2 naming the path', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-cli-'));
  const missing = join(root, 'missing');
  const res = await runCli(['report', missing]);
  assert.equal(res.code, 2);
  assert.equal(res.stdout, '');
  assert.match(res.stderr, new RegExp(`encourage: ${missing}: no such run directory`));
  await mkdir(join(root, 'empty'));
  const empty = await runCli(['report', join(root, 'empty')]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, new RegExp(`${join(root, 'empty')}: no metrics\\.jsonl in this directory`));
  const none = await runCli(['report']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing required argument 'run-dirs'/);
  const help = await runCli(['report', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--out <dir>/);
});
