/**
 * Training-step benchmark: full steps (forward, encouraging loss, backward, SGD-momentum update)
 * through the same `Replica` the trainer uses, timed after warm-up, with the PyTorch peer
 * (../shared/peers/torch_resnet20.py, one thread) measured in the same run for the ratio.
 *
 *   npm run -s bench:train -- --model resnet20 --batch 64 [--backend wasm] [--steps 10] [--warmup 3] [--no-peer]
 *
 * Prints human-readable lines, then as its last line one JSON object.
 */
import { spawnSync } from 'node:child_process';
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

const here = dirname(fileURLToPath(import.meta.url));
const PEER = resolve(here, '..', '..', '..', 'shared', 'peers', 'torch_resnet20.py');

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

function positiveInt(name: string, fallback: number): number {
  const v = Number(flag(name, String(fallback)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer, got ${flag(name, '')}`);
  return v;
}

const model = flag('model', 'resnet20') as ModelName;
if (!(MODEL_NAMES as readonly string[]).includes(model)) throw new Error(`--model must be one of ${MODEL_NAMES.join(', ')}, got ${model}`);
const batch = positiveInt('batch', 64);
const steps = positiveInt('steps', 10);
const warmup = positiveInt('warmup', 3);
const lossName = flag('loss', 'el');
const { backend, reason } = await selectBackend(parseBackendRequest(flag('backend', 'auto')), silentLogger);

const net = createModel(model, { seed: 0 });
const replica = new Replica(net, { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
const rng = new Rng(1);
const x = Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.nextGaussian());
const y = Int32Array.from({ length: batch }, () => rng.nextInt(10));
const loss = parseLossOptions(lossName);
const step = () => {
  const { grads } = replica.computeGradients(x, y, loss, 1);
  replica.applyGradients(grads, 0.01);
};
console.log(`model ${model} (${countTrainableParams(net)} parameters), batch ${batch}, loss ${lossName}, backend ${backend} (${reason})`);
for (let i = 0; i < warmup; i++) step();
const times: number[] = [];
let peakRss = process.memoryUsage().rss;
for (let i = 0; i < steps; i++) {
  const t = performance.now();
  step();
  times.push(performance.now() - t);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
times.sort((a, b) => a - b);
const medianMs = times[Math.floor(times.length / 2)]!;
const meanMs = times.reduce((a, b) => a + b, 0) / times.length;
const imagesPerSecond = (batch * 1000) / meanMs;
console.log(`encourage: ${imagesPerSecond.toFixed(1)} images/s (mean ${meanMs.toFixed(1)} ms/step, median ${medianMs.toFixed(1)}, best ${times[0]!.toFixed(1)}), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

let torchImagesPerSecond: number | null = null;
if (!process.argv.includes('--no-peer') && model === 'resnet20') {
  if (!existsSync(PEER)) {
    console.log(`peer script not found at ${PEER}; skipping the PyTorch comparison`);
  } else {
    const r = spawnSync('/usr/bin/python3', [PEER, '1', String(batch)], { encoding: 'utf8' });
    const m = /img\/s=([\d.]+)/.exec(r.stdout ?? '');
    if (r.status === 0 && m !== null) {
      torchImagesPerSecond = Number(m[1]);
      console.log(`pytorch (1 thread): ${torchImagesPerSecond.toFixed(1)} images/s → ratio ${(imagesPerSecond / torchImagesPerSecond).toFixed(2)}`);
    } else {
      console.log(`pytorch peer failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').at(-1) ?? ''} — install Debian's python3-torch`);
    }
  }
}
net.dispose();
console.log(
  JSON.stringify({
    model, batch, backend, loss: lossName, steps, imagesPerSecond, meanMsPerStep: meanMs, medianMsPerStep: medianMs, peakRssBytes: peakRss,
    torchImagesPerSecond, ratioToTorch: torchImagesPerSecond === null ? null : imagesPerSecond / torchImagesPerSecond,
  }),
);

