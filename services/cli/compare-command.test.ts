/**
 * `encourage compare` (the README's main job) as users run it: CE then EL on the same synthetic
 * data, seed and 2 worker processes, one side-by-side report, and a last JSON line whose headline
 * figures are the ones the runs' metrics hold.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMetrics } from '../core/training/run-dir.js';
import { ConfigError } from '../core/errors.js';
import { lastJsonLine, runCli } from './cli-harness.js';
import { parseLosses } from './compare-command.js';

interface RunSummary {
  status: string;
  experiment: string;
  loss: string;
  workers: number;
  steps: number;
  testAccuracy: number;
  runDir: string;
}

interface CompareLine {
  status: string;
  experiment: string;
  losses: string[];
  headline: { testAccuracy: Record<string, number>; highConfidenceGradShare: Record<string, number>; highConfidenceFrom: number; meanPy: Record<string, number> };
  runs: Record<string, RunSummary>;
  report: string;
}

/** Share of the last epoch's gradient mass from bins with p_y ≥ 0.5, straight from metrics.jsonl. */
async function lastEpochHighShare(runDir: string): Promise<number> {
  const epochs = (await readMetrics(join(runDir, 'metrics.jsonl'))).filter((m) => m.type === 'epoch');
  const bins = (epochs.at(-1)!['confidence'] as { bins: { lo: number; gradMassShare: number }[] }).bins;
  return bins.filter((b) => b.lo >= 0.5).reduce((a, b) => a + b.gradMassShare, 0);
}

test('compare: CE and EL on the same data, seed and workers; one report with both; headline figures from the runs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'compare-'));
  const dir = join(root, 'cmp');
  const res = await runCli([
    'compare', '--workers', '2', '--data', 'synthetic', '--synthetic-train', '512', '--synthetic-test', '256', '--model', 'cnn-small', '--epochs', '2',
    '--batch-size', '16', '--lr', '0.1', '--seed', '5', '--experiment', 'cmp', '--run-dir', dir, '--log-level', 'warn',
  ]);
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  const out = lastJsonLine<CompareLine>(res.stdout);
  assert.equal(out.status, 'succeeded');
  assert.deepEqual(out.losses, ['ce', 'el']);
  const { ce, el } = out.runs as { ce: RunSummary; el: RunSummary };
  assert.deepEqual([ce.experiment, ce.loss, ce.runDir, ce.status, ce.workers], ['cmp-ce', 'ce', join(dir, 'ce'), 'succeeded', 2]);
  assert.deepEqual([el.experiment, el.loss, el.runDir, el.status, el.workers], ['cmp-el', 'el', join(dir, 'el'), 'succeeded', 2]);
  assert.equal(ce.steps, el.steps, 'same data and workers: same steps');
  // Each run's config says it trained on the same data with the same seed; only the loss differs.
  const configs = await Promise.all([ce, el].map(async (r) => JSON.parse(await readFile(join(r.runDir, 'config.json'), 'utf8')) as Record<string, unknown>));
  for (const key of ['data', 'seed', 'model', 'batchSize', 'epochs', 'lr']) assert.deepEqual(configs[0]![key], configs[1]![key], key);
  assert.notDeepEqual(configs[0]!['loss'], configs[1]!['loss']);
  // Headline figures: the summaries' accuracy and the last epoch's high-confidence gradient share.
  assert.deepEqual(out.headline.testAccuracy, { ce: ce.testAccuracy, el: el.testAccuracy });
  assert.equal(out.headline.highConfidenceFrom, 0.5);
  for (const run of [ce, el]) {
    const share = out.headline.highConfidenceGradShare[run.loss]!;
    assert.ok(Math.abs(share - (await lastEpochHighShare(run.runDir))) < 1e-9, `${run.loss}: share ${share}`);
  }
  // The paper's effect, on this seed: EL keeps more of the gradient on well-classified examples.
  assert.ok(out.headline.highConfidenceGradShare['el']! > out.headline.highConfidenceGradShare['ce']!, JSON.stringify(out.headline));
  // One side-by-side report (no per-run reports: the comparison shows each run too).
  assert.equal(out.report, join(dir, 'report', 'index.html'));
  const html = await readFile(out.report, 'utf8');
  assert.match(html, /<section id="comparison">/);
  assert.match(html, /Run cmp-ce \(ce\)/);
  assert.match(html, /Run cmp-el \(el\)/);
  assert.deepEqual((await readdir(dir)).sort(), ['ce', 'el', 'report']);
  assert.deepEqual((await readdir(join(dir, 'ce'))).includes('report'), false);
});

test('--losses: at least two distinct presets; errors name the value', () => {
  assert.deepEqual(parseLosses(undefined), ['ce', 'el']);
  assert.deepEqual(parseLosses('ce, el-full,el'), ['ce', 'el-full', 'el']);
  const cases: [string, RegExp][] = [
    ['ce', /invalid losses: "ce" \(expected at least two distinct loss presets/],
    ['ce,ce', /invalid losses: "ce,ce"/],
    ['ce,', /invalid losses: "ce,"/],
    ['ce,el-typo', /invalid losses: "el-typo"/],
  ];
  for (const [value, pattern] of cases) assert.throws(() => parseLosses(value), (e: unknown) => e instanceof ConfigError && pattern.test(e.message), value);
});

test('compare: bad flags exit 2 naming the value; nothing is written', async () => {
  const root = await mkdtemp(join(tmpdir(), 'compare-bad-'));
  const cases: [string[], RegExp][] = [
    [['--losses', 'ce,el-typo'], /invalid losses: "el-typo"/],
    [['--loss', 'el'], /invalid loss: "el" \(expected not to be used with compare/],
  ];
  for (const [flags, pattern] of cases) {
    const res = await runCli(['compare', '--data', 'synthetic', '--run-dir', join(root, 'r'), ...flags]);
    assert.equal(res.code, 2, `${flags.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, pattern);
  }
  assert.deepEqual(await readdir(root), []);
});
