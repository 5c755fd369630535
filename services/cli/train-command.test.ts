/**
 * `encourage train` as users run it: a real process on synthetic CIFAR-format data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpointFile } from '../core/checkpoint/checkpoint-file.js';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { readMetrics } from '../core/training/run-dir.js';
import { lastJsonLine, runCli, startCli } from './cli-harness.js';

interface Summary {
  testAccuracy: number;
  bestTestAccuracy: number;
  epochs: number;
  steps: number;
  imagesPerSecond: number;
  wallSeconds: number;
  backend: string;
  confidence: { bins: { count: number; gradMassShare: number }[]; examples: number };
  resumedFromStep: number | null;
}

test('encourage train --data synthetic --model cnn-small --epochs 3 learns', async () => {
  const runs = await mkdtemp(join(tmpdir(), 'train-'));
  const res = await runCli(['train', '--data', 'synthetic', '--model', 'cnn-small', '--epochs', '3', '--experiment', 'learn', '--backend', 'wasm'], {
    env: { ENCOURAGE_RUNS_DIR: runs },
  });
  assert.equal(res.code, 0, res.stderr.slice(-2000));
  const s = lastJsonLine<Summary>(res.stdout);
  assert.equal(s.epochs, 3);
  assert.equal(s.backend, 'wasm');
  assert.ok(s.testAccuracy > 0.5, `test accuracy ${s.testAccuracy} should be well above chance (0.1)`);
  assert.ok(s.bestTestAccuracy >= s.testAccuracy);
  assert.ok(s.imagesPerSecond > 0 && s.wallSeconds > 0);
  assert.equal(s.confidence.bins.length, 6);
  assert.equal(s.confidence.bins.reduce((a, b) => a + b.count, 0), s.confidence.examples);
  const metrics = await readMetrics(join(runs, 'learn', 'metrics.jsonl'));
  assert.equal(metrics.filter((m) => m.type === 'epoch').length, 3);
  assert.equal(metrics.filter((m) => m.type === 'step').length, s.steps);
  assert.ok(metrics.some((m) => m.type === 'step' && typeof m['paramGradNormHigh'] === 'number'), 'parameter-gradient split sampled');
});

test('kill -9 mid-run, --resume: final weights equal an uninterrupted run bit for bit', async () => {
  const root = await mkdtemp(join(tmpdir(), 'resume-'));
  const common = ['train', '--data', 'synthetic', '--synthetic-train', '960', '--synthetic-test', '100', '--model', 'cnn-small', '--epochs', '2',
    '--batch-size', '32', '--checkpoint-every', '4', '--loss', 'el', '--seed', '7', '--backend', 'wasm', '--checkpoints-kept', '50'];
  const straight = await runCli([...common, '--experiment', 'straight', '--run-dir', join(root, 'straight')]);
  assert.equal(straight.code, 0, straight.stderr.slice(-2000));
  const total = lastJsonLine<Summary>(straight.stdout).steps;
  assert.equal(total, 60);

  const dir = join(root, 'killed');
  const { child, done } = startCli([...common, '--experiment', 'killed', '--run-dir', dir]);
  const store = new CheckpointStore(join(dir, 'checkpoints'));
  for (;;) {
    const steps = await store.steps();
    if (steps.some((s) => s >= 12)) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  const killed = await done;
  assert.equal(killed.signal, 'SIGKILL');
  const lastBefore = Math.max(...(await store.steps()));
  assert.ok(lastBefore < total, `killed before the end (last checkpoint ${lastBefore} of ${total})`);

  const resumed = await runCli([...common, '--experiment', 'killed', '--run-dir', dir, '--resume']);
  assert.equal(resumed.code, 0, resumed.stderr.slice(-2000));
  const s = lastJsonLine<Summary>(resumed.stdout);
  assert.equal(s.steps, total);
  assert.ok(s.resumedFromStep !== null && s.resumedFromStep >= 12 && s.resumedFromStep < total);

  const a = await readCheckpointFile(join(root, 'straight', 'checkpoints', CheckpointStore.fileName(total)));
  const b = await readCheckpointFile(join(dir, 'checkpoints', CheckpointStore.fileName(total)));
  assert.equal(a.tensors.size, b.tensors.size);
  for (const [name, t] of a.tensors) assert.deepEqual(b.tensors.get(name)!.data, t.data, `tensor ${name} differs`);
  // The resumed run's metrics describe one history: every step once.
  const steps = (await readMetrics(join(dir, 'metrics.jsonl'))).filter((m) => m.type === 'step').map((m) => m.step);
  assert.deepEqual(steps, Array.from({ length: total }, (_, i) => i + 1));
  assert.ok((await readdir(join(dir, 'checkpoints'))).every((f) => !f.includes('.tmp')));
});

test('bad flags exit 2 and name the flag; nothing is written', async () => {
  const root = await mkdtemp(join(tmpdir(), 'bad-'));
  const cases: [string[], RegExp][] = [
    [['--model', 'resnet99'], /invalid model: "resnet99"/],
    [['--epochs', '0'], /invalid epochs/],
    [['--lr', 'fast'], /invalid lr/],
    [['--loss', 'el-typo'], /invalid loss/],
    [['--loss', '{"preset":"el","rho":-1}'], /invalid loss\.rho/],
    [['--schedule', 'linear'], /invalid schedule/],
    [['--confidence-edges', '0,0.9,0.5,1'], /invalid confidenceEdges/],
    [['--max-restarts', '2'], /invalid max-restarts: "2" \(expected to be used with --workers/],
    [['--workers', '2', '--min-workers', '3'], /invalid min-workers: "3" \(expected an integer in \[1, 2\]/],
    [['--workers', '2', '--max-restarts', 'often'], /invalid max-restarts: "often"/],
  ];
  for (const [flags, pattern] of cases) {
    const res = await runCli(['train', '--data', 'synthetic', '--run-dir', join(root, 'r'), ...flags]);
    assert.equal(res.code, 2, `${flags.join(' ')}: ${res.stderr}`);
    assert.match(res.stderr, pattern);
  }
  assert.deepEqual(await readdir(root), []);
});
