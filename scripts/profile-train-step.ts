/**
 * Profiles full training steps. `--backend webgpu` runs profile-webgpu-step.ts (per-kernel and
 * per-dispatch GPU time from WebGPU timestamp queries, dispatches per step, stock vs ours); the
 * default, `--backend wasm`, is described here.
 *
 * wasm: ResNet-20 forward, encouraging loss 'el', backward over every parameter, under three
 * kernel configurations, with the time per kernel side by side:
 *
 *   recipe   the convolution gradients by the literal zero-dilation recipe (dilated-dy
 *            correlation for dx, dilated convolution for dW); stock wasm for everything else
 *            (stock wasm has no Conv2DBackpropFilter at all, so a step cannot run without one)
 *   conv     our per-shape convolution-gradient algorithms; stock Identity/Cast
 *   all      everything `registerFastWasmKernels()` installs (adds sharing Identity/Cast)
 *
 * The configurations are switched at run time and run round-robin, so a change in the shared
 * machine's load hits all of them alike; each number is the best over the rounds (interference
 * only ever adds time).
 *
 * Usage: npm run -s build && node dist/scripts/profile-train-step.js [--batch 64] [--rounds 5]
 *        node dist/scripts/profile-train-step.js --backend webgpu [--model resnet20] [--batch 8] [--rounds 2]
 * Prints a Markdown table, then (last stdout line) one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Rng } from '../services/core/random.js';
import { createLogger } from '../services/core/logging.js';
import { encouragingLoss, parseLossOptions } from '../services/core/loss/index.js';
import { createModel } from '../services/worker/models/index.js';
import { castAliasWasmConfig, identityAliasWasmConfig } from '../services/worker/backend/aliasing-identity.js';
import { setFilterGradStrategy } from '../services/worker/backend/conv2d-backprop-filter.js';
import { setInputGradStrategy } from '../services/worker/backend/conv2d-backprop-input.js';
import { registerFastWasmKernels } from '../services/worker/backend/register-wasm-kernels.js';
import { flag } from './bench-args.js';
import { profileWebGpuStep } from './profile-webgpu-step.js';

// Captured at module evaluation, before registerFastWasmKernels() replaces anything.
const stockKernels = new Map<string, tf.KernelConfig>(tf.getKernelsForBackend('wasm').map((c) => [c.kernelName, c] as [string, tf.KernelConfig]));

const CONFIGS = ['recipe', 'conv', 'all'] as const;
type Config = (typeof CONFIGS)[number];

function intFlag(argv: string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  const parsed = i >= 0 ? Number.parseInt(argv[i + 1] ?? '', 10) : NaN;
  return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
}

function install(config: tf.KernelConfig): void {
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

function applyConfig(config: Config): void {
  const recipe = config === 'recipe';
  setInputGradStrategy(recipe ? 'dilation' : 'auto');
  setFilterGradStrategy(recipe ? 'conv' : 'auto');
  for (const ours of [identityAliasWasmConfig, castAliasWasmConfig]) {
    const stock = stockKernels.get(ours.kernelName);
    if (stock === undefined) throw new Error(`no stock wasm kernel ${ours.kernelName}`);
    install(config === 'all' ? ours : stock);
  }
}

interface KernelTime {
  calls: number;
  ms: number;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const batch = intFlag(argv, '--batch', 64);
  const rounds = intFlag(argv, '--rounds', 5);
  const logger = createLogger({ name: 'profile-train-step' });
  registerFastWasmKernels();
  await tf.setBackend('wasm');

  const model = createModel('resnet20', { seed: 1 });
  const loss = parseLossOptions('el');
  const rng = new Rng(3);
  const xData = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < xData.length; i++) xData[i] = rng.nextGaussian();
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = rng.nextInt(10);
  const vars = model.params.map((p) => p.variable);
  const step = (): void => {
    const { value, grads } = tf.tidy(() => {
      const xs = tf.tensor4d(xData, [batch, 32, 32, 3]);
      const ys = tf.tensor1d(labels, 'int32');
      return tf.variableGrads(() => encouragingLoss(model.apply(xs, true), ys, loss, { epoch: 1, training: true }).loss, vars);
    });
    tf.dispose([value, ...Object.values(grads)]);
    model.discardRunningStats();
  };

  const best = new Map<Config, Map<string, KernelTime>>(CONFIGS.map((c) => [c, new Map()]));
  const wall = new Map<Config, number[]>(CONFIGS.map((c) => [c, []]));
  for (const config of CONFIGS) {
    applyConfig(config);
    step(); // warm-up: operator caches, heap growth
  }
  for (let round = 0; round < rounds; round++) {
    for (const config of CONFIGS) {
      applyConfig(config);
      const start = performance.now();
      step();
      wall.get(config)?.push(performance.now() - start);
      const profile = await tf.profile(() => {
        step();
      });
      const thisStep = new Map<string, KernelTime>();
      for (const k of profile.kernels) {
        const entry = thisStep.get(k.name) ?? { calls: 0, ms: 0 };
        entry.calls += 1;
        entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
        thisStep.set(k.name, entry);
      }
      const bests = best.get(config) as Map<string, KernelTime>;
      for (const [name, entry] of thisStep) {
        const previous = bests.get(name);
        if (previous === undefined || entry.ms < previous.ms) bests.set(name, entry);
      }
    }
    logger.info({ round: round + 1, of: rounds }, 'round done');
  }
  model.dispose();

  // Custom-gradient scopes (BatchNorm's forward, logSoftmax) are not kernels: they time their
  // nested kernels again, so they are shown apart and left out of the totals.
  const isScope = (name: string): boolean => tf.getKernel(name, 'wasm') === undefined;
  const names = new Set<string>();
  for (const m of best.values()) for (const n of m.keys()) names.add(n);
  const all = best.get('all') as Map<string, KernelTime>;
  const totals = Object.fromEntries(
    CONFIGS.map((c) => [c, [...(best.get(c) as Map<string, KernelTime>)].filter(([n]) => !isScope(n)).reduce((s, [, e]) => s + e.ms, 0)]),
  ) as Record<Config, number>;
  const ordered = [...names].sort((a, b) => (all.get(b)?.ms ?? 0) - (all.get(a)?.ms ?? 0));
  const cell = (c: Config, n: string): string => {
    const e = best.get(c)?.get(n);
    return e === undefined ? '–' : e.ms.toFixed(1);
  };
  const lines = ['| kernel | calls | recipe ms | conv ms | **all ms** | share (all) |', '|---|---:|---:|---:|---:|---:|'];
  for (const n of ordered) {
    const top = Math.max(...CONFIGS.map((c) => best.get(c)?.get(n)?.ms ?? 0));
    if (top < 0.002 * totals.all) continue; // < 0.2 % everywhere: noise
    const calls = all.get(n)?.calls ?? best.get('recipe')?.get(n)?.calls ?? 0;
    if (isScope(n)) {
      lines.push(`| _${n} (scope, nested)_ | ${calls} | _${cell('recipe', n)}_ | _${cell('conv', n)}_ | _${cell('all', n)}_ | |`);
    } else {
      const share = ((100 * (all.get(n)?.ms ?? 0)) / totals.all).toFixed(1);
      lines.push(`| ${n} | ${calls} | ${cell('recipe', n)} | ${cell('conv', n)} | **${cell('all', n)}** | ${share}% |`);
    }
  }
  lines.push(`| **all kernels** | | **${totals.recipe.toFixed(1)}** | **${totals.conv.toFixed(1)}** | **${totals.all.toFixed(1)}** | |`);
  const stat = (c: Config): { min: number; median: number } => {
    const w = [...(wall.get(c) ?? [])].sort((a, b) => a - b);
    return { min: w[0] ?? NaN, median: w[Math.floor(w.length / 2)] ?? NaN };
  };
  const wallLine = CONFIGS.map((c) => `${c} ${stat(c).min.toFixed(0)} / ${stat(c).median.toFixed(0)}`).join(', ');
  lines.push(`| step wall time, best / median of ${rounds} (ms) | | ${stat('recipe').min.toFixed(0)} / ${stat('recipe').median.toFixed(0)} | ${stat('conv').min.toFixed(0)} / ${stat('conv').median.toFixed(0)} | **${stat('all').min.toFixed(0)} / ${stat('all').median.toFixed(0)}** | |`);
  process.stdout.write(`${lines.join('\n')}\n`);
  logger.info({ wall: wallLine }, 'step wall time (best / median)');
  const kernels = Object.fromEntries(CONFIGS.map((c) => [c, Object.fromEntries(best.get(c) ?? [])]));
  process.stdout.write(
    `${JSON.stringify({ profile: 'resnet20-train-step', backend: 'wasm', batch, rounds, totalsMs: totals, stepMs: Object.fromEntries(CONFIGS.map((c) => [c, stat(c)])), kernels })}\n`,
  );
}

const backend = flag('backend', 'wasm');
if (backend === 'webgpu') await profileWebGpuStep();
else if (backend === 'wasm') await main();
else throw new Error(`--backend must be wasm or webgpu, got ${backend}`);
