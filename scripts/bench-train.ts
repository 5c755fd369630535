/**
 * Training-step benchmark: full steps (forward, encouraging loss, backward, SGD-momentum update)
 * through the same `Replica.step` the trainer uses, timed after warm-up, with a PyTorch peer
 * measured in the same run for the ratio: on cpu/wasm/tensorflow-cpu the one-thread CPU step
 * (../shared/peers/torch_resnet20.py, ResNet-20 only), on GPU backends the CUDA step
 * (../shared/peers/torch_cuda_train.py, `gpuPeer`; null where python3 has no CUDA).
 *
 *   npm run -s bench:train -- --model resnet20 --batch 64 [--backend wasm] [--steps 10] [--warmup 3] [--rounds 3] [--no-peer]
 *
 * The steps of a round are timed together, until the device has finished the last one (a GPU step
 * resolves when its analytics are read, while its update may still be queued). `kernelsPerStep` is
 * the number of TF.js kernels one step dispatches (`tf.profile`).
 * Prints human-readable lines, then as its last line one JSON object.
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../services/core/logging.js';
import { parseLossOptions } from '../services/core/loss/index.js';
import { Rng } from '../services/core/random.js';
import { MODEL_NAMES, type ModelName } from '../services/core/training/names.js';
import { parseBackendRequest, selectBackend } from '../services/worker/backend/select-backend.js';
import { countTrainableParams, createModel } from '../services/worker/models/index.js';
import { Replica } from '../services/worker/train/replica.js';
import { TUNED_WORKER_ENV } from '../services/worker/collective/process-tuning.js';
import { flag, median, positiveInt } from './bench-args.js';

const here = dirname(fileURLToPath(import.meta.url));
const PEERS = resolve(here, '..', '..', '..', 'shared', 'peers');
const CPU_PEER = resolve(PEERS, 'torch_resnet20.py');
const GPU_PEER = resolve(PEERS, 'torch_cuda_train.py');

const model = flag('model', 'resnet20') as ModelName;
if (!(MODEL_NAMES as readonly string[]).includes(model)) throw new Error(`--model must be one of ${MODEL_NAMES.join(', ')}, got ${model}`);
const batch = positiveInt('batch', 64);
const steps = positiveInt('steps', 10);
const warmup = positiveInt('warmup', 3);
const rounds = positiveInt('rounds', 3);
const lossName = flag('loss', 'el');
const { backend, reason, adapter, gpu } = await selectBackend(parseBackendRequest(flag('backend', 'auto')), silentLogger);

const net = createModel(model, { seed: 0 });
const replica = new Replica(net, { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
const rng = new Rng(1);
const x = Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.nextGaussian());
const y = Int32Array.from({ length: batch }, () => rng.nextInt(10));
const loss = parseLossOptions(lossName);
const step = () => replica.step({ x, labels: y, loss, epoch: 1, lr: 0.01, splitThreshold: null });
console.log(`model ${model} (${countTrainableParams(net)} parameters), batch ${batch}, loss ${lossName}, backend ${backend} (${reason})`);
const peer = gpu ? GPU_PEER : CPU_PEER;
let withPeer = !process.argv.includes('--no-peer') && (gpu || model === 'resnet20');
if (withPeer && !existsSync(peer)) {
  console.log(`peer script not found at ${peer}; skipping the PyTorch comparison`);
  withPeer = false;
}

/** PyTorch's images/s for the same step, or null when the peer cannot run. */
function runPeer(): number | null {
  // The CPU peer gets the malloc settings our worker processes get (process-tuning.ts): with glibc's
  // defaults every large tensor is a fresh mmap() whose pages fault in at ~15 µs each on these
  // VMs, and PyTorch's single-thread step then swings between ~90 and ~340 images/s from one run
  // to the next. Tuned, it is steady at its best — the fair (and harder) comparison.
  // The GPU peer runs with the `python3` on PATH (the one with CUDA PyTorch, not Debian's CPU build).
  const r = gpu
    ? spawnSync('python3', [GPU_PEER, model, String(batch)], { encoding: 'utf8' })
    : spawnSync('/usr/bin/python3', [CPU_PEER, '1', String(batch)], { encoding: 'utf8', env: { ...process.env, ...TUNED_WORKER_ENV } });
  const m = /img\/s=([\d.]+)/.exec(r.stdout ?? '');
  if (r.status === 0 && m !== null) return Number(m[1]);
  const why = r.status === 3 ? 'python3 has no CUDA device' : (r.stderr ?? '').trim().split('\n').at(-1) ?? '';
  console.log(`pytorch peer failed (exit ${r.status}): ${why}${gpu ? '' : " — install Debian's python3-torch"}`);
  return null;
}

for (let i = 0; i < warmup; i++) await step();
await replica.settle();
const profile = await tf.profile(async () => {
  await step();
  await replica.settle();
});
const kernelsPerStep = profile.kernels.length;
console.log(`one step dispatches ${kernelsPerStep} TF.js kernels`);
let peakRss = process.memoryUsage().rss;
// Rounds alternate ours and the peer, so that both see the same machine (other jobs, the
// host's neighbours) and the ratio is taken within a round; the JSON reports medians.
const perRound: Array<{ imagesPerSecond: number; meanMs: number; medianMs: number; torch: number | null }> = [];
for (let round = 0; round < rounds; round++) {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  await replica.settle();
  times.sort((a, b) => a - b);
  const meanMs = (performance.now() - start) / steps;
  const torch = withPeer ? runPeer() : null;
  // A peer that failed once (no python3-torch) is not retried every round.
  if (torch === null) withPeer = false;
  const row = { imagesPerSecond: (batch * 1000) / meanMs, meanMs, medianMs: times[Math.floor(times.length / 2)]!, torch };
  perRound.push(row);
  console.log(`round ${round + 1}: encourage ${row.imagesPerSecond.toFixed(1)} images/s (mean ${meanMs.toFixed(1)} ms/step, median ${row.medianMs.toFixed(1)}, best ${times[0]!.toFixed(1)})` +
    (row.torch === null ? '' : `; pytorch (${gpu ? 'CUDA' : '1 thread'}) ${row.torch.toFixed(1)} images/s → ratio ${(row.imagesPerSecond / row.torch).toFixed(2)}`));
}
const imagesPerSecond = median(perRound.map((r) => r.imagesPerSecond));
const meanMs = median(perRound.map((r) => r.meanMs));
const medianMs = median(perRound.map((r) => r.medianMs));
const peered = perRound.filter((r): r is typeof r & { torch: number } => r.torch !== null);
const torchImagesPerSecond = peered.length === 0 ? null : median(peered.map((r) => r.torch));
const ratioToTorch = peered.length === 0 ? null : median(peered.map((r) => r.imagesPerSecond / r.torch));
console.log(`encourage: ${imagesPerSecond.toFixed(1)} images/s (median of ${rounds} rounds), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB` +
  (ratioToTorch === null ? '' : `; pytorch ${torchImagesPerSecond!.toFixed(1)} images/s; median ratio ${ratioToTorch.toFixed(2)} (range ${Math.min(...peered.map((r) => r.imagesPerSecond / r.torch)).toFixed(2)}–${Math.max(...peered.map((r) => r.imagesPerSecond / r.torch)).toFixed(2)})`));
replica.dispose();
console.log(
  JSON.stringify({
    model, batch, backend, adapter, loss: lossName, steps, rounds, imagesPerSecond, kernelsPerStep, meanMsPerStep: meanMs, medianMsPerStep: medianMs, peakRssBytes: peakRss,
    // gpuPeer/ratio: PyTorch CUDA on the same GPU (GPU backends); torch*: the one-thread CPU peer.
    gpuPeer: gpu ? torchImagesPerSecond : null, ratio: ratioToTorch,
    torchImagesPerSecond: gpu ? null : torchImagesPerSecond, ratioToTorch: gpu ? null : ratioToTorch, roundRatios: peered.map((r) => r.imagesPerSecond / r.torch),
  }),
);

