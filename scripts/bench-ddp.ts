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
 * Overlap of communication with compute, on a machine without a GPU:
 *
 *   npm run -s bench:ddp -- --simulated-compute-ms auto|MS [--model resnet18] [--bucket-mb 4] [--workers 2]
 *
 * replaces forward and backward by MS milliseconds of simulated device time per step, over which
 * the gradient buckets become ready one after another (services/worker/train/replica.ts). Each
 * round first runs with no compute at all — the step is then the all-reduce alone, T — then with
 * MS (`auto`: the T just measured, compute as long as communication). It reports the total
 * all-reduce time and the *exposed* part: what a step still waits for the all-reduce after its
 * last bucket was ready. Perfect overlap leaves about one bucket's communication exposed.
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
const simulated = flag('simulated-compute-ms', '');
const bucketMb = flag('bucket-mb', '');
if (simulated !== '' && simulated !== 'auto' && !(Number(simulated) > 0)) throw new Error(`--simulated-compute-ms must be auto or a positive number of milliseconds, got ${JSON.stringify(simulated)}`);
if (bucketMb !== '' && !(Number(bucketMb) > 0)) throw new Error(`--bucket-mb must be a positive number, got ${JSON.stringify(bucketMb)}`);

interface Result {
  imagesPerSecond: number;
  /** Σ over steps of the whole all-reduce (first bucket's start to last one's end, slowest rank). */
  allreduceTotalSeconds: number;
  /** Σ over steps of the exposed all-reduce (after the last bucket was ready, slowest rank). */
  exposedSeconds: number;
  stepSeconds: number;
  /** Σ over steps of the all-reduce time of the rank that arrived last (pure communication). */
  commSeconds: number;
  /** Σ over steps of the slowest rank's all-reduce time minus the above (waiting for compute). */
  waitSeconds: number;
}

function run(n: number, tag: string, simulatedMs = 0): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ddp-'));
  const args = [CLI, 'train', '--workers', String(n), '--model', model, '--batch-size', String(batch), '--epochs', '1', '--max-steps-per-epoch', String(steps),
    '--data', 'synthetic', '--synthetic-train', String(batch * steps * n), '--synthetic-test', '64', '--param-grad-every', '0', '--allreduce-dtype', dtype,
    '--experiment', `bench-ddp-${tag}`, '--run-dir', dir, '--backend', 'wasm', '--log-level', 'warn', '--no-report',
    ...(bucketMb === '' ? [] : ['--bucket-mb', bucketMb]), ...(simulatedMs > 0 ? ['--simulated-compute-ms', String(simulatedMs)] : [])];
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
      resolve({
        imagesPerSecond: total((m) => batch * (m['workers'] as number)) / stepSeconds, stepSeconds, commSeconds, waitSeconds: slowest - commSeconds,
        allreduceTotalSeconds: total((m) => (m['allreduceTotalSeconds'] as number) ?? 0), exposedSeconds: slowest,
      });
    });
  });
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
if (simulated !== '') {
  await overlapRounds();
  process.exit(0);
}

/** Rounds of: all-reduce alone (no compute), then the same with simulated compute; exposed vs total. */
async function overlapRounds(): Promise<void> {
  const perStep = (r: Result) => ({ total: r.allreduceTotalSeconds / (steps - WARMUP_STEPS), exposed: r.exposedSeconds / (steps - WARMUP_STEPS) });
  const out: Array<{ commMs: number; computeMs: number; totalMs: number; exposedMs: number; exposedShare: number }> = [];
  for (let r = 0; r < rounds; r++) {
    // No compute: the step is the all-reduce alone (the simulated wait of 1 µs only marks the mode).
    const alone = perStep(await run(workers, 'comm-only', 0.001));
    const computeMs = simulated === 'auto' ? alone.total * 1000 : Number(simulated);
    const overlapped = perStep(await run(workers, 'overlap', computeMs));
    const row = { commMs: alone.total * 1000, computeMs, totalMs: overlapped.total * 1000, exposedMs: overlapped.exposed * 1000, exposedShare: overlapped.exposed / alone.total };
    out.push(row);
    console.log(`round ${r + 1}: ${model}, ${workers} workers, ${dtype} wire${bucketMb === '' ? '' : `, ${bucketMb} MB buckets`} — all-reduce alone ${row.commMs.toFixed(1)} ms/step; ` +
      `with ${row.computeMs.toFixed(1)} ms of simulated compute: all-reduce ${row.totalMs.toFixed(1)} ms, exposed ${row.exposedMs.toFixed(1)} ms (${pct(row.exposedShare)} of the all-reduce alone)`);
  }
  const m = (f: (x: (typeof out)[number]) => number) => median(out.map(f));
  console.log(`median of ${rounds}: exposed communication ${pct(m((x) => x.exposedShare))} of the all-reduce time (target ≤ 25%)`);
  console.log(JSON.stringify({
    model, workers, dtype, steps, rounds, bucketMb: bucketMb === '' ? null : Number(bucketMb), mode: 'simulated-compute',
    allreduceAloneMs: m((x) => x.commMs), simulatedComputeMs: m((x) => x.computeMs), allreduceWithComputeMs: m((x) => x.totalMs),
    exposedMs: m((x) => x.exposedMs), exposedShare: m((x) => x.exposedShare), roundExposedShares: out.map((x) => x.exposedShare),
  }));
}

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
