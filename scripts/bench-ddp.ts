/**
 * Data-parallel scaling benchmark: the same ResNet-20 job with `encourage train --workers 1` and
 * `--workers N`, per-worker batch fixed (so N workers process N× the images per step), reporting
 * the images/s ratio and the share of step time spent in the all-reduce.
 *
 *   npm run -s bench:ddp -- [--workers 2] [--model resnet20] [--batch 64] [--steps 12] [--dtype float32]
 *
 * Prints human-readable lines, then as its last line one JSON object.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../services/cli/main.js', import.meta.url));

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const workers = Number(flag('workers', '2'));
const model = flag('model', 'resnet20');
const batch = Number(flag('batch', '64'));
const steps = Number(flag('steps', '12'));
const dtype = flag('dtype', 'float32');

interface Result {
  workers: number;
  imagesPerSecond: number;
  allreduceSeconds: number;
  stepSeconds: number;
  allreduceShare: number;
}

function runOnce(n: number): Result {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ddp-'));
  const args = [CLI, 'train', '--workers', String(n), '--model', model, '--batch-size', String(batch), '--epochs', '1', '--max-steps-per-epoch', String(steps),
    '--data', 'synthetic', '--synthetic-train', String(batch * steps * n), '--synthetic-test', '64', '--param-grad-every', '0', '--allreduce-dtype', dtype,
    '--experiment', `bench-ddp-${n}`, '--run-dir', dir, '--backend', 'wasm', '--log-level', 'warn'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train --workers ${n} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  // Skip the first two steps (warm-up: wasm compilation, first allocations) in the step records.
  const recs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>).filter((m) => m['type'] === 'step').slice(2);
  const stepSeconds = recs.reduce((a, m) => a + (m['seconds'] as number), 0);
  const images = recs.reduce((a, m) => a + batch * ((m['workers'] as number) ?? 1), 0);
  const allreduce = recs.reduce((a, m) => a + ((m['phaseSeconds']?.allreduce as number) ?? 0), 0);
  return { workers: n, imagesPerSecond: images / stepSeconds, allreduceSeconds: allreduce, stepSeconds, allreduceShare: allreduce / stepSeconds };
}

const one = runOnce(1);
console.log(`${model} batch ${batch}/worker, 1 worker: ${one.imagesPerSecond.toFixed(1)} images/s`);
const many = runOnce(workers);
console.log(`${model} batch ${batch}/worker, ${workers} workers: ${many.imagesPerSecond.toFixed(1)} images/s, all-reduce ${(many.allreduceShare * 100).toFixed(1)}% of step time (${dtype} wire)`);
const speedup = many.imagesPerSecond / one.imagesPerSecond;
console.log(`speed-up ${speedup.toFixed(2)}× (ideal ${workers}×)`);
console.log(JSON.stringify({ model, batchPerWorker: batch, workers, dtype, steps, oneWorkerImagesPerSecond: one.imagesPerSecond, imagesPerSecond: many.imagesPerSecond, speedup, allreduceShareOfStep: many.allreduceShare }));
