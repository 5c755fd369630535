/**
 * Data-parallel scaling benchmark: the same ResNet-20 job with `encourage train --workers 1` and
 * `--workers N`, per-worker batch fixed (so N workers process N× the images per step), reporting
 * the images/s ratio and where the N-worker step's extra time goes.
 *
 * The peer, measured in the same round: N independent `--workers 1` jobs run at the same time.
 * They share nothing but the machine, so their summed images/s is what N compute-bound processes
 * can get out of this machine at all (cores, memory bandwidth, noisy neighbours); the distributed
 * job's speed-up is read against it as well as against the ideal N×.
 *
 *   npm run -s bench:ddp -- [--workers 2] [--model resnet20] [--batch 64] [--steps 12] [--dtype float32] [--rounds 2]
 *
 * Prints human-readable lines, then as its last line one JSON object (medians over the rounds).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, median, positiveInt } from './bench-args.js';

const CLI = fileURLToPath(new URL('../services/cli/main.js', import.meta.url));

const workers = positiveInt('workers', 2, 2);
const model = flag('model', 'resnet20');
const batch = positiveInt('batch', 64);
/** Leading steps left out of every figure (wasm compilation, first allocations). */
const WARMUP_STEPS = 2;
const steps = positiveInt('steps', 12, WARMUP_STEPS + 1);
const dtype = flag('dtype', 'float32');
const rounds = positiveInt('rounds', 2);

interface Result {
  imagesPerSecond: number;
  stepSeconds: number;
  /** Σ over steps of the all-reduce time of the rank that arrived last (pure communication). */
  commSeconds: number;
  /** Σ over steps of the slowest rank's all-reduce time minus the above (waiting for compute). */
  waitSeconds: number;
}

function run(n: number, tag: string): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ddp-'));
  const args = [CLI, 'train', '--workers', String(n), '--model', model, '--batch-size', String(batch), '--epochs', '1', '--max-steps-per-epoch', String(steps),
    '--data', 'synthetic', '--synthetic-train', String(batch * steps * n), '--synthetic-test', '64', '--param-grad-every', '0', '--allreduce-dtype', dtype,
    '--experiment', `bench-ddp-${tag}`, '--run-dir', dir, '--backend', 'wasm', '--log-level', 'warn'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`train --workers ${n} failed (exit ${code}): ${stderr}`));
      const recs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
        .filter((m) => m['type'] === 'step').slice(WARMUP_STEPS);
      const total = (f: (m: Record<string, any>) => number) => recs.reduce((a, m) => a + f(m), 0);
      const stepSeconds = total((m) => m['seconds'] as number);
      const commSeconds = total((m) => (m['allreduceCommSeconds'] as number) ?? 0);
      const slowest = total((m) => (m['phaseSeconds']?.allreduce as number) ?? 0);
      resolve({ imagesPerSecond: total((m) => batch * (m['workers'] as number)) / stepSeconds, stepSeconds, commSeconds, waitSeconds: slowest - commSeconds });
    });
  });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const rows: Array<{ one: number; many: number; independent: number; speedup: number; ceiling: number; comm: number; wait: number }> = [];
for (let r = 0; r < rounds; r++) {
  const one = await run(1, 'one');
  const many = await run(workers, 'many');
  const alone = await Promise.all(Array.from({ length: workers }, (_, i) => run(1, `independent-${i}`)));
  const independent = alone.reduce((a, x) => a + x.imagesPerSecond, 0);
  const row = {
    one: one.imagesPerSecond, many: many.imagesPerSecond, independent,
    speedup: many.imagesPerSecond / one.imagesPerSecond, ceiling: independent / one.imagesPerSecond,
    comm: many.commSeconds / many.stepSeconds, wait: many.waitSeconds / many.stepSeconds,
  };
  rows.push(row);
  console.log(`round ${r + 1}: ${model} batch ${batch}/worker — 1 worker ${row.one.toFixed(1)} img/s; ${workers} workers ${row.many.toFixed(1)} img/s ` +
    `(speed-up ${row.speedup.toFixed(2)}×; all-reduce ${pct(row.comm)} of step, waiting for the slowest rank ${pct(row.wait)}); ` +
    `${workers} independent 1-worker jobs ${row.independent.toFixed(1)} img/s together (${row.ceiling.toFixed(2)}× — this machine's ceiling)`);
}
const m = (f: (x: (typeof rows)[number]) => number) => median(rows.map(f));
console.log(`median of ${rounds}: speed-up ${m((x) => x.speedup).toFixed(2)}× (ideal ${workers}×, machine ceiling ${m((x) => x.ceiling).toFixed(2)}×), ` +
  `efficiency vs ceiling ${pct(m((x) => x.speedup / x.ceiling))}, all-reduce ${pct(m((x) => x.comm))} of step (${dtype} wire)`);
console.log(JSON.stringify({
  model, batchPerWorker: batch, workers, dtype, steps, rounds,
  oneWorkerImagesPerSecond: m((x) => x.one), imagesPerSecond: m((x) => x.many), speedup: m((x) => x.speedup),
  independentImagesPerSecond: m((x) => x.independent), machineCeilingSpeedup: m((x) => x.ceiling), efficiencyVsCeiling: m((x) => x.speedup / x.ceiling),
  allreduceShareOfStep: m((x) => x.comm), waitShareOfStep: m((x) => x.wait),
}));
