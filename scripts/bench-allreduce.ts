/**
 * All-reduce bandwidth on loopback: N worker processes (services/worker/collective), each one
 * CollectiveNode, all-reduce S MB of float32, and Gloo (torch.distributed) on the same machine in
 * the same run, for every N asked for.
 *
 *   npm run -s bench:allreduce -- [--workers 2,4] [--size-mb 16] [--dtype float32|float16]
 *                                  [--rounds 3] [--iters 10] [--warmup 3] [--chunk-kb K]
 *                                  [--lanes L] [--connections C] [--bucket-mb B]
 *                                  [--skip-peer] [--probe] [--untuned]
 *
 * A round runs, for each N: ours, then (with --probe) raw Node HTTP/2 between the same processes
 * moving the same bytes (each rank pulls 2(N−1)/N · S from its left neighbour, all at once: the
 * transport ceiling without gRPC or reduction), then the Gloo peer. Ratios are taken within a
 * round, so a machine shared with other jobs moves both sides alike, and the median over rounds
 * is reported with the range. The load average before and after goes into the JSON.
 *
 * Workers start with the process settings of services/worker/collective/process-tuning.ts
 * (malloc thresholds, single-threaded GC), and so does Gloo, unless --untuned is given.
 * Figures follow nccl-tests: algbw = S / t, busbw = algbw · 2(N−1)/N (the bytes each rank
 * actually moves in a ring all-reduce, so that busbw is comparable across N). t is the median
 * of I back-to-back iterations as measured by rank 0 (Gloo's script reports the mean of 5).
 * CPU ms per operation is the mean over ranks of each process's user + system time.
 * Human-readable result lines first, then, as the last stdout line, one JSON object whose
 * `ratioToGloo` holds the median ratio for every N.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../services/core/errors.js';
import type { WireDtype } from '../services/worker/collective/chunk-codec.js';
import { DEFAULT_COLLECTIVE_OPTIONS } from '../services/worker/collective/collective-options.js';
import type { WorkerReply } from '../services/worker/collective/collective-worker-process.js';
import { TUNED_WORKER_ENV } from '../services/worker/collective/process-tuning.js';
import { WorkerRing } from '../services/worker/collective/worker-ring.js';

const GLOO_TIMEOUT_MS = 300_000;
const MB = 1e6;

type BenchReply = Extract<WorkerReply, { type: 'bench' }>;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError('repository root', fileURLToPath(import.meta.url), 'a directory with package.json above the script');
    dir = parent;
  }
  return dir;
}

function positiveNumber(key: string, text: string | undefined, fallback: number, integer = true): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new ConfigError(key, text, integer ? 'a positive integer' : 'a positive number');
  }
  return value;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median and range of per-round figures, rounded for printing. */
function summary(values: readonly number[], digits = 0): { median: number; min: number; max: number; rounds: number[] } {
  const round = (v: number): number => Math.round(v * 10 ** digits) / 10 ** digits;
  return { median: round(median(values)), min: round(Math.min(...values)), max: round(Math.max(...values)), rounds: values.map(round) };
}

const busBandwidth = (bytes: number, seconds: number, workers: number): number => (bytes / seconds / MB) * ((2 * (workers - 1)) / workers);

/** Run the Gloo peer script; resolves with its busbw (MB/s) for the size. */
function runGloo(workers: number, sizeMb: number, tuned: boolean): Promise<{ busBandwidthMBps: number; seconds: number; line: string }> {
  const script = resolve(repoRoot(), '..', 'shared', 'peers', 'gloo_allreduce.py');
  if (!existsSync(script)) return Promise.reject(new ConfigError('--skip-peer', script, 'the Gloo peer script at ../shared/peers (or pass --skip-peer)'));
  return new Promise((resolvePromise, reject) => {
    // Same malloc settings as our ranks (unless --untuned): both sides allocate per-message buffers.
    const env = tuned ? { ...process.env, ...TUNED_WORKER_ENV } : process.env;
    const child = spawn('/usr/bin/python3', [script, String(workers), String(sizeMb)], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let out = '';
    child.stdout.on('data', (data: Buffer) => (out += data.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), GLOO_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('gloo ')) ?? '';
      const bus = /busbw=([\d.]+)MB\/s/.exec(line);
      const time = /time=([\d.]+)ms/.exec(line);
      if (code !== 0 || bus === null || time === null) reject(new Error(`gloo peer failed (exit ${code}): ${out.trim()}`));
      else resolvePromise({ busBandwidthMBps: Number(bus[1]), seconds: Number(time[1]) / 1000, line });
    });
  });
}

interface Settings {
  readonly sizeBytes: number;
  readonly length: number;
  readonly dtype: WireDtype;
  readonly chunkKb: number;
  readonly lanes: number;
  readonly bucketMb: number;
  readonly connections: number | undefined;
  readonly iters: number;
  readonly warmup: number;
  readonly tuned: boolean;
  readonly probe: boolean;
}

interface OursResult {
  readonly busBandwidthMBps: number;
  readonly seconds: number;
  readonly cpuMsPerOp: number;
  readonly probeBusBandwidthMBps?: number;
  readonly probeCpuMsPerOp?: number;
}

/** One measurement of ours (and the probe) with `workers` fresh processes. */
async function runOurs(workers: number, s: Settings): Promise<OursResult> {
  const ring = await WorkerRing.start({
    worldSize: workers,
    defaults: { dtype: s.dtype, chunkKb: s.chunkKb, lanes: s.lanes, bucketMb: s.bucketMb },
    connectionsPerPeer: s.connections,
    tuned: s.tuned,
  });
  try {
    const replies = (await ring.all({ type: 'bench', id: ring.newId(), length: s.length, warmup: s.warmup, iters: s.iters }, 'bench')) as BenchReply[];
    const seconds = median(replies[0]?.seconds ?? []);
    const cpuMsPerOp = (replies.reduce((sum, r) => sum + r.cpuSeconds, 0) / replies.length / s.iters) * 1000;
    const result: OursResult = { busBandwidthMBps: busBandwidth(s.sizeBytes, seconds, workers), seconds, cpuMsPerOp };
    if (!s.probe) return result;
    const listening = await ring.all({ type: 'probe-start' }, 'probe-listening');
    const addresses = listening.map((reply) => (reply as Extract<WorkerReply, { type: 'probe-listening' }>).address);
    const bytes = Math.round((s.sizeBytes * 2 * (workers - 1)) / workers);
    const id = ring.newId();
    const probes = (await Promise.all(
      addresses.map((_, rank) => ring.request(rank, { type: 'probe-run', id, leftAddress: addresses[(rank - 1 + workers) % workers]!, bytes, warmup: s.warmup, iters: s.iters }, 'bench')),
    )) as BenchReply[];
    // The ring is as fast as its slowest link: per iteration, the slowest rank's time.
    const perIteration = Array.from({ length: s.iters }, (_, i) => Math.max(...probes.map((p) => p.seconds[i] ?? 0)));
    const probeCpu = (probes.reduce((sum, r) => sum + r.cpuSeconds, 0) / probes.length / s.iters) * 1000;
    return { ...result, probeBusBandwidthMBps: busBandwidth(s.sizeBytes, median(perIteration), workers), probeCpuMsPerOp: probeCpu };
  } finally {
    await ring.close();
  }
}

function parseWorkers(text: string): number[] {
  const list = text.split(',').map((t) => Number(t.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 2 || n > 64)) throw new ConfigError('--workers', text, 'a comma-separated list of integers in [2, 64], e.g. 2,4');
  return list;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2,4' },
      'size-mb': { type: 'string', default: '16' },
      dtype: { type: 'string', default: 'float32' },
      rounds: { type: 'string', default: '3' },
      'chunk-kb': { type: 'string' },
      lanes: { type: 'string' },
      connections: { type: 'string' },
      'bucket-mb': { type: 'string' },
      iters: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      // Kept for old command lines: the peer runs unless --skip-peer.
      peer: { type: 'boolean', default: true },
      'skip-peer': { type: 'boolean', default: false },
      untuned: { type: 'boolean', default: false },
      probe: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const workerCounts = parseWorkers(values.workers ?? '2,4');
  const sizeMb = positiveNumber('--size-mb', values['size-mb'], 16, false);
  const dtype = values.dtype as WireDtype;
  if (dtype !== 'float32' && dtype !== 'float16') throw new ConfigError('--dtype', dtype, 'float32 or float16');
  const warmupText = values.warmup ?? '3';
  const warmup = Number(warmupText);
  if (!Number.isInteger(warmup) || warmup < 0) throw new ConfigError('--warmup', warmupText, 'an integer ≥ 0');
  // Same element count as the Gloo script: int(mb·1024·1024/4) float32 values.
  const length = Math.floor((sizeMb * 1024 * 1024) / 4);
  const settings: Settings = {
    sizeBytes: length * 4,
    length,
    dtype,
    chunkKb: positiveNumber('--chunk-kb', values['chunk-kb'], DEFAULT_COLLECTIVE_OPTIONS.chunkKb),
    lanes: positiveNumber('--lanes', values.lanes, DEFAULT_COLLECTIVE_OPTIONS.lanes),
    bucketMb: positiveNumber('--bucket-mb', values['bucket-mb'], DEFAULT_COLLECTIVE_OPTIONS.bucketMb, false),
    connections: values.connections === undefined ? undefined : positiveNumber('--connections', values.connections, 1),
    iters: positiveNumber('--iters', values.iters, 10),
    warmup,
    tuned: values.untuned !== true,
    probe: values.probe === true,
  };
  const rounds = positiveNumber('--rounds', values.rounds, 3);
  const peer = values['skip-peer'] !== true;

  const loadBefore = loadavg().map((l) => Math.round(l * 100) / 100);
  process.stdout.write(`bench:allreduce size=${sizeMb}MB dtype=${dtype} chunk=${settings.chunkKb}KB lanes=${settings.lanes} rounds=${rounds} iters=${settings.iters}; load average ${loadBefore.join(' ')}\n`);
  const ours = new Map<number, OursResult[]>(workerCounts.map((n) => [n, []]));
  const gloo = new Map<number, number[]>(workerCounts.map((n) => [n, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const workers of workerCounts) {
      const o = await runOurs(workers, settings);
      ours.get(workers)!.push(o);
      let line = `round ${round} workers=${workers}: ours busbw=${o.busBandwidthMBps.toFixed(0)}MB/s (${(o.seconds * 1e3).toFixed(1)} ms, ${o.cpuMsPerOp.toFixed(1)} CPU ms/op per rank)`;
      if (o.probeBusBandwidthMBps !== undefined) line += `, raw http2 probe ${o.probeBusBandwidthMBps.toFixed(0)}MB/s (${o.probeCpuMsPerOp!.toFixed(1)} CPU ms/op)`;
      if (peer) {
        const g = await runGloo(workers, sizeMb, settings.tuned);
        gloo.get(workers)!.push(g.busBandwidthMBps);
        line += `, gloo busbw=${g.busBandwidthMBps.toFixed(0)}MB/s → ratio ${(o.busBandwidthMBps / g.busBandwidthMBps).toFixed(2)}`;
      }
      process.stdout.write(`${line}\n`);
    }
  }
  const loadAfter = loadavg().map((l) => Math.round(l * 100) / 100);

  const results: Record<string, unknown> = {};
  const ratioToGloo: Record<string, number> = {};
  for (const workers of workerCounts) {
    const mine = ours.get(workers)!;
    const entry: Record<string, unknown> = {
      busBandwidthMBps: summary(mine.map((o) => o.busBandwidthMBps)),
      cpuMsPerOp: summary(mine.map((o) => o.cpuMsPerOp), 1),
    };
    if (settings.probe) entry['probeBusBandwidthMBps'] = summary(mine.map((o) => o.probeBusBandwidthMBps ?? 0));
    let text = `workers=${workers}: ours busbw median ${median(mine.map((o) => o.busBandwidthMBps)).toFixed(0)}MB/s`;
    if (peer) {
      const theirs = gloo.get(workers)!;
      const ratios = mine.map((o, i) => o.busBandwidthMBps / theirs[i]!);
      entry['glooBusBandwidthMBps'] = summary(theirs);
      entry['ratioToGloo'] = summary(ratios, 3);
      ratioToGloo[String(workers)] = summary(ratios, 3).median;
      text += `, gloo ${median(theirs).toFixed(0)}MB/s, ratio median ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
    }
    results[String(workers)] = entry;
    process.stdout.write(`${text}\n`);
  }
  const json: Record<string, unknown> = {
    sizeBytes: settings.sizeBytes,
    sizeMb,
    dtype,
    chunkKb: settings.chunkKb,
    lanes: settings.lanes,
    connections: settings.connections ?? null,
    bucketMb: settings.bucketMb,
    tuned: settings.tuned,
    iters: settings.iters,
    rounds,
    loadAverage: { before: loadBefore, after: loadAfter },
    results,
  };
  if (peer) json['ratioToGloo'] = ratioToGloo;
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-allreduce: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
