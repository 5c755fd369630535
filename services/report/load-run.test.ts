/**
 * Loading run directories: clear errors for paths that are not runs, config-or-record bin edges,
 * and the figures of a run that has not finished.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDirError, MetricsRecordError } from './errors.js';
import { loadRun } from './load-run.js';
import { runFigures } from './run-figures.js';

const step = (n: number, epoch: number, bins: number[]) =>
  JSON.stringify({ type: 'step', step: n, epoch, loss: 1, base: 1.2, bonus: -0.2, accuracy: 0.5, binCounts: bins, binMeanGradNorm: bins.map(() => 0.5), workers: 2 });

async function runDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'report-load-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

test('a path that is not a run directory is an error naming it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'report-load-'));
  const missing = join(root, 'nope');
  await assert.rejects(loadRun(missing), (err: unknown) => err instanceof RunDirError && err.path === missing && err.message === `${missing}: no such run directory`);
  await mkdir(join(root, 'empty'));
  await assert.rejects(loadRun(join(root, 'empty')), (err: unknown) => {
    assert.ok(err instanceof RunDirError);
    assert.match(err.message, new RegExp(`^${join(root, 'empty')}: no metrics\\.jsonl in this directory`));
    return true;
  });
  await writeFile(join(root, 'file'), 'x');
  await assert.rejects(loadRun(join(root, 'file')), /file: not a directory/);
  const noRecords = await runDir({ 'metrics.jsonl': '{"type":"summary","step":0}\n' });
  await assert.rejects(loadRun(noRecords), /holds no step or epoch records yet/);
  const badConfig = await runDir({ 'metrics.jsonl': `${step(1, 1, [1, 1])}\n`, 'config.json': '{"experiment":' });
  await assert.rejects(loadRun(badConfig), /invalid config\.json/);
});

test('bin edges come from config.json; a record with another number of bins names its line', async () => {
  const dir = await runDir({
    'config.json': JSON.stringify({ experiment: 'el-a', model: 'cnn-small', loss: { preset: 'el', base: 'ce' }, epochs: 3, confidenceEdges: [0, 0.6, 1], highConfidenceThreshold: 0.6 }),
    'metrics.jsonl': `${step(1, 1, [3, 1])}\n${step(2, 1, [2, 2])}\n`,
  });
  const run = await loadRun(dir);
  assert.deepEqual(run.edges, [0, 0.6, 1]);
  assert.equal(run.experiment, 'el-a');
  assert.equal(run.loss, 'el');
  assert.equal(run.highConfidenceThreshold, 0.6);
  assert.equal(run.stepsPerEpoch, null, 'no epoch finished yet');
  const f = runFigures(run, 'el-a');
  assert.equal(f.status, 'incomplete');
  assert.equal(f.workers, 2);
  assert.equal(f.steps, 2);
  assert.equal(f.testAccuracy, null);
  assert.equal(f.configuredEpochs, 3);

  await writeFile(join(dir, 'metrics.jsonl'), `${step(1, 1, [3, 1])}\n${step(2, 1, [1, 1, 2])}\n`);
  await assert.rejects(loadRun(dir), (err: unknown) => err instanceof MetricsRecordError && err.line === 2 && /invalid binCounts: \[1,1,2\] \(expected 2 bins \(edges 0, 0\.6, 1\)\)/.test(err.message));
});

test('without config.json: edges from an epoch table, names from the summary, steps per epoch from the epoch record', async () => {
  const epoch = { type: 'epoch', epoch: 1, step: 2, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: 0.4, confidence: { bins: [{ lo: 0, hi: 0.3, count: 2 }, { lo: 0.3, hi: 1, count: 2 }], meanPy: 0.4 } };
  const dir = await runDir({
    'metrics.jsonl': [step(1, 1, [2, 0]), step(2, 1, [1, 1]), JSON.stringify(epoch), step(3, 2, [0, 2]), JSON.stringify({ type: 'summary', step: 3, experiment: 'ce-b', loss: 'ce', model: 'resnet20', interrupted: true, imagesPerSecond: 99, backend: 'webgpu', device: 'nvidia nvidia-h200 — NVIDIA H200' })].join('\n'),
  });
  const run = await loadRun(dir);
  assert.deepEqual(run.edges, [0, 0.3, 1]);
  assert.equal(run.experiment, 'ce-b');
  assert.equal(run.loss, 'ce');
  assert.equal(run.model, 'resnet20');
  assert.equal(run.stepsPerEpoch, 2);
  const f = runFigures(run, 'ce-b');
  assert.equal(f.status, 'interrupted');
  assert.equal(f.testAccuracy, 0.4);
  assert.equal(f.imagesPerSecond, 99);
  assert.equal(f.steps, 3);
  assert.equal(f.compute, 'webgpu on nvidia nvidia-h200 — NVIDIA H200');
});
