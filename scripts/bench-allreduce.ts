/**
 * All-reduce bandwidth on loopback: N worker processes (services/worker/collective), each one
 * CollectiveNode, all-reduce S MB of float32; optionally Gloo (torch.distributed) in the same run.
 *
 *   npm run -s bench:allreduce -- --workers 2 --size-mb 16 [--dtype float16] [--chunk-kb K]
 *                                  [--lanes L] [--connections C] [--iters I] [--warmup W] [--peer]
 *                                  [--untuned] [--probe]
 *
 * --probe also measures raw Node HTTP/2 between the same worker processes moving the same bytes
 * (each rank pulls 2(N−1)/N · S from its left neighbour, all at once): the transport ceiling
 * without gRPC or reduction, reported as `probeBusBandwidthMBps`.
 *
 * Workers start with the process settings of services/worker/collective/process-tuning.ts
 * (malloc thresholds, single-threaded GC) unless --untuned is given.
 * Figures follow nccl-tests: algbw = S / t, busbw = algbw · 2(N−1)/N (the bytes each rank
 * actually moves in a ring all-reduce, so that busbw is comparable across N). t is the median
 * of I back-to-back iterations as measured by rank 0 (Gloo's script reports the mean of 5).
 * Human-readable result lines first, then, as the last stdout line, one JSON object.
 */
import { spawn } from 'node:child_process';
import { TUNED_WORKER_ENV } from '../services/worker/collective/process-tuning.js';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../services/core/errors.js';
import type { WireDtype } from '../services/worker/collective/chunk-codec.js';
import { DEFAULT_COLLECTIVE_OPTIONS } from '../services/worker/collective/collective-options.js';
import type { WorkerReply } from '../services/worker/collective/collective-worker-process.js';
import { WorkerRing } from '../services/worker/collective/worker-ring.js';

const GLOO_TIMEOUT_MS = 300_000;

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

/** Run the Gloo peer script; resolves with its busbw (MB/s) for the size. */
function runGloo(workers: number, sizeMb: number, tuned: boolean): Promise<{ busBandwidthMBps: number; seconds: number; line: string }> {
  const script = resolve(repoRoot(), '..', 'shared', 'peers', 'gloo_allreduce.py');
  if (!existsSync(script)) return Promise.reject(new ConfigError('--peer', script, 'the Gloo peer script at ../shared/peers'));
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' },
      'size-mb': { type: 'string', default: '16' },
      dtype: { type: 'string', default: DEFAULT_COLLECTIVE_OPTIONS.dtype },
      'chunk-kb': { type: 'string' },
      lanes: { type: 'string' },
      connections: { type: 'string' },
      'bucket-mb': { type: 'string' },
      iters: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      peer: { type: 'boolean', default: false },
      untuned: { type: 'boolean', default: false },
      probe: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const workers = positiveNumber('--workers', values.workers, 2);
  if (workers < 2) throw new ConfigError('--workers', workers, 'at least 2');
  const sizeMb = positiveNumber('--size-mb', values['size-mb'], 16, false);
  const dtype = values.dtype as WireDtype;
  if (dtype !== 'float32' && dtype !== 'float16') throw new ConfigError('--dtype', dtype, 'float32 or float16');
  const chunkKb = positiveNumber('--chunk-kb', values['chunk-kb'], DEFAULT_COLLECTIVE_OPTIONS.chunkKb);
  const lanes = positiveNumber('--lanes', values.lanes, DEFAULT_COLLECTIVE_OPTIONS.lanes);
  const bucketMb = positiveNumber('--bucket-mb', values['bucket-mb'], DEFAULT_COLLECTIVE_OPTIONS.bucketMb, false);
  const connections = values.connections === undefined ? undefined : positiveNumber('--connections', values.connections, 1);
  const iters = positiveNumber('--iters', values.iters, 10);
  const warmup = Math.max(0, Number(values.warmup ?? 3));
  // Same element count as the Gloo script: int(mb·1024·1024/4) float32 values.
  const length = Math.floor((sizeMb * 1024 * 1024) / 4);
  const sizeBytes = length * 4;

  const tuned = values.untuned !== true;
  const ring = await WorkerRing.start({ worldSize: workers, defaults: { dtype, chunkKb, lanes, bucketMb }, connectionsPerPeer: connections, tuned });
  let seconds: number;
  let probeSeconds: number | undefined;
  try {
    const replies = await ring.all({ type: 'bench', id: ring.newId(), length, warmup, iters }, 'bench');
    const perRank = replies.map((reply) => (reply as Extract<WorkerReply, { type: 'bench' }>).seconds);
    seconds = median(perRank[0] ?? []);
    if (values.probe === true) {
      const listening = await ring.all({ type: 'probe-start' }, 'probe-listening');
      const addresses = listening.map((reply) => (reply as Extract<WorkerReply, { type: 'probe-listening' }>).address);
      const bytes = Math.round((sizeBytes * 2 * (workers - 1)) / workers);
      const id = ring.newId();
      const probes = await Promise.all(
        addresses.map((_, rank) => ring.request(rank, { type: 'probe-run', id, leftAddress: addresses[(rank - 1 + workers) % workers]!, bytes, warmup, iters }, 'bench')),
      );
      // The ring is as fast as its slowest link: per iteration, the slowest rank's time.
      const perIteration = Array.from({ length: iters }, (_, i) => Math.max(...probes.map((p) => (p as Extract<WorkerReply, { type: 'bench' }>).seconds[i] ?? 0)));
      probeSeconds = median(perIteration);
    }
  } finally {
    await ring.close();
  }
  const algBandwidthMBps = sizeBytes / seconds / 1e6;
  const busBandwidthMBps = (algBandwidthMBps * 2 * (workers - 1)) / workers;
  process.stdout.write(
    `encourage allreduce workers=${workers} size=${sizeMb}MB dtype=${dtype} chunk=${chunkKb}KB lanes=${lanes} ` +
      `time=${(seconds * 1e3).toFixed(1)}ms algbw=${algBandwidthMBps.toFixed(0)}MB/s busbw=${busBandwidthMBps.toFixed(0)}MB/s\n`,
  );
  const result: Record<string, unknown> = {
    workers,
    sizeBytes,
    sizeMb,
    dtype,
    chunkKb,
    lanes,
    connections: connections ?? null,
    bucketMb,
    tuned,
    iters,
    seconds,
    algBandwidthMBps: Math.round(algBandwidthMBps),
    busBandwidthMBps: Math.round(busBandwidthMBps),
  };
  if (probeSeconds !== undefined) {
    const probeBus = sizeBytes / probeSeconds / 1e6 * (2 * (workers - 1)) / workers;
    process.stdout.write(`raw http2 probe: ${Math.round(((sizeBytes * 2 * (workers - 1)) / workers) / 1e6)}MB per rank in ${(probeSeconds * 1e3).toFixed(1)}ms → ceiling busbw=${probeBus.toFixed(0)}MB/s\n`);
    result['probeSeconds'] = probeSeconds;
    result['probeBusBandwidthMBps'] = Math.round(probeBus);
  }
  if (values.peer === true) {
    const gloo = await runGloo(workers, sizeMb, tuned);
    process.stdout.write(`${gloo.line}\n`);
    result['glooSeconds'] = gloo.seconds;
    result['glooBusBandwidthMBps'] = gloo.busBandwidthMBps;
    result['ratioToGloo'] = Math.round((busBandwidthMBps / gloo.busBandwidthMBps) * 1000) / 1000;
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench-allreduce: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
