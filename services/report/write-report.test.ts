/**
 * writeReport end to end on hand-written run directories: real vega + resvg rendering to PNG
 * files, the self-contained page, escaping of run-provided strings, skipped charts, labels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeHtml } from './report-html.js';
import { defaultReportDir, writeReport } from './write-report.js';
import { PNG_SCALE } from './chart-style.js';

const HOSTILE = 'x"><script>alert(1)</script>';

/** A small run: 3 epochs of 4 steps, two bins, a rollback that redid steps 7–8, param-grad sampled or not. */
async function fixtureRun(root: string, name: string, config: Record<string, unknown>, options: { sampled: boolean }): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), JSON.stringify({ confidenceEdges: [0, 0.5, 1], highConfidenceThreshold: 0.5, epochs: 3, model: 'cnn-small', ...config }));
  const lines: string[] = [];
  const stepRec = (n: number, loss: number) => {
    const epoch = Math.ceil(n / 4);
    const high = Math.min(n, 8);
    return JSON.stringify({
      type: 'step', step: n, epoch, loss, base: loss + 0.1, bonus: -0.1, accuracy: n / 12, lr: 0.1, binCounts: [10 - high / 2, high / 2], binMeanGradNorm: [1, 0.2 + n / 100],
      meanPy: n / 12, meanMargin: 0, ...(options.sampled && n % 2 === 1 ? { paramGradNormHigh: n / 10, paramGradNormLow: 2 - n / 10 } : {}),
    });
  };
  const epochRec = (e: number) =>
    JSON.stringify({ type: 'epoch', epoch: e, step: e * 4, trainLoss: 2 - e / 3, trainAccuracy: e / 4, testLoss: 2, testAccuracy: e / 5, confidence: { bins: [{ lo: 0, hi: 0.5, count: 30, meanGradNorm: 1, gradMassShare: 0.9 }, { lo: 0.5, hi: 1, count: 10, meanGradNorm: 0.3, gradMassShare: 0.1 }], meanPy: 0.3 } });
  for (let n = 1; n <= 4; n++) lines.push(stepRec(n, 3 - n / 10));
  lines.push(epochRec(1), stepRec(5, 2.5), stepRec(6, 2.4));
  lines.push(stepRec(7, 9), stepRec(8, 9)); // a worker dies; rollback to the checkpoint of step 6 redoes 7 and 8
  for (let n = 7; n <= 8; n++) lines.push(stepRec(n, 3 - n / 10));
  lines.push(epochRec(2));
  for (let n = 9; n <= 12; n++) lines.push(stepRec(n, 3 - n / 10));
  lines.push(epochRec(3), JSON.stringify({ type: 'summary', step: 12, workers: 2, imagesPerSecond: 1000, wallSeconds: 4 }));
  await writeFile(join(dir, 'metrics.jsonl'), `${lines.join('\n')}\n`);
  return dir;
}

test('escapeHtml escapes every character that could open markup or end an attribute', () => {
  assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
});

test('one run: PNGs beside a self-contained index.html, run strings escaped, skipped charts explained', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-write-'));
  const dir = await fixtureRun(root, 'evil', { experiment: HOSTILE, loss: { preset: 'el', note: '</code><b>' } }, { sampled: false });
  const result = await writeReport([dir], { now: new Date('2026-01-02T03:04:05Z') });
  assert.equal(result.report, join(dir, 'report', 'index.html'));
  assert.equal(defaultReportDir([dir]), join(dir, 'report'));
  const ids = result.charts.map((c) => c.id.replace(/^.*?-(accuracy|loss|grad-norm-heatmap|grad-share)$/, '$1'));
  assert.deepEqual(ids, ['accuracy', 'loss', 'grad-norm-heatmap', 'grad-share']);
  assert.deepEqual(result.skipped.map((s) => s.reason), ['no step sampled the parameter-gradient split (--param-grad-every 0)']);

  const html = await readFile(result.report, 'utf8');
  assert.ok(!html.includes('<script>'), 'no markup from the run reaches the page');
  assert.ok(!html.includes('</code><b>'));
  assert.ok(html.includes('x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes('2026-01-02T03:04:05.000Z'));
  const files = (await readdir(join(dir, 'report'))).sort();
  assert.deepEqual(files, [...result.charts.map((c) => c.path.split('/').at(-1)!), 'index.html'].sort());
  for (const chart of result.charts) {
    const png = await readFile(chart.path);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${chart.path} is a PNG`);
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    assert.ok(width > 500 * PNG_SCALE && height > 200 * PNG_SCALE, `${chart.id}: ${width}×${height}`);
    // Embedded: the same bytes as a data URI, with the width halved for HiDPI.
    assert.ok(html.includes(`src="data:image/png;base64,${png.toString('base64')}"`), `${chart.id} embedded`);
    assert.ok(html.includes(`width="${Math.round(width / PNG_SCALE)}"`));
  }
  const [figures] = result.runs;
  assert.equal(figures!.redoneSteps, 2, 'steps 7 and 8 were recorded twice');
  assert.equal(figures!.steps, 12);
  assert.equal(figures!.status, 'finished');
  assert.equal(figures!.workers, 2);
  assert.equal(figures!.highConfidenceGradShare, 0.1);
  assert.equal(figures!.testAccuracy, 0.6);
});

test('two runs with the same experiment: unique labels, comparison charts first, default directory beside them', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-write-'));
  const a = await fixtureRun(root, 'ce', { experiment: 'main', loss: { preset: 'ce' } }, { sampled: true });
  const b = await fixtureRun(root, 'el', { experiment: 'main', loss: { preset: 'ce' } }, { sampled: true });
  assert.equal(defaultReportDir([a, b]), join(root, 'report-ce-vs-el'));
  const result = await writeReport([a, b], { out: join(root, 'out') });
  assert.deepEqual(result.runs.map((r) => r.label), ['main (ce) [ce]', 'main (ce) [el]']);
  assert.deepEqual(result.charts.slice(0, 3).map((c) => c.id), ['compare-test-accuracy', 'compare-high-confidence-share', 'compare-grad-by-bin']);
  assert.equal(result.charts.length, 3 + 2 * 5);
  assert.equal(new Set(result.charts.map((c) => c.path)).size, result.charts.length, 'one file per chart');
  assert.deepEqual(result.skipped, []);
  const html = await readFile(join(root, 'out', 'index.html'), 'utf8');
  assert.equal(html.match(/<img /g)?.length, result.charts.length);
  assert.match(html, /<section id="comparison">/);
});
