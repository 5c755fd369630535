/**
 * Where a webgpu training step's time goes: full `Replica.step`s (forward in training mode,
 * encouraging loss 'el', backward, SGD with momentum, BatchNorm statistics) under two kernel
 * configurations, run round-robin in one process:
 *
 *   stock   tfjs-backend-webgpu 4.22's own kernels and the engine's autodiff of the tf-ops layers
 *   ours    what `selectBackend('webgpu')` installs: GEMM conv gradients, fused BatchNorm, fused
 *           SGD, and the fused training path (models/layers/fused-tape.ts)
 *
 * For one profiled step of each (`tf.profile`; tfjs-webgpu then ends a compute pass after every
 * dispatch and reads its WebGPU timestamp queries, so each dispatch is timed on the device), it
 * reports per TF.js kernel: calls, GPU dispatches and GPU time; per WGSL program (tfjs's program
 * class names, ours `Encourage…`): dispatches and GPU time; and, without profiling, the step's wall
 * time and the host time spent recording it (JavaScript, tfjs and Dawn encoding every dispatch —
 * the cost GPU-NOTES.md measured at ~70 µs per op on the H200's host). Kernels and dispatches per step do not depend on the device; times do —
 * on a software adapter (lavapipe) they describe a CPU running Vulkan, not a GPU.
 *
 * Usage: node dist/scripts/profile-train-step.js --backend webgpu [--model resnet20] [--batch 8] [--rounds 2] [--dx gemm|stock]
 * (`--dx stock`: "ours" computes dx with tfjs's stock kernel, see conv-grad-kernels.ts).
 * Prints Markdown tables, then (last stdout line) one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { silentLogger } from '../services/core/logging.js';
import { parseLossOptions } from '../services/core/loss/index.js';
import { Rng } from '../services/core/random.js';
import { MODEL_NAMES, type ModelName } from '../services/core/training/names.js';
import { selectBackend } from '../services/worker/backend/select-backend.js';
import { adapterLabel } from '../services/worker/backend/webgpu-runtime.js';
import { setInputGradAlgorithm } from '../services/worker/backend/webgpu/conv-grad-kernels.js';
import { registerWebGpuKernels, restoreStockWebGpuKernels } from '../services/worker/backend/webgpu/register-webgpu-kernels.js';
import { createModel } from '../services/worker/models/index.js';
import { Replica } from '../services/worker/train/replica.js';
import { flag, positiveInt } from './bench-args.js';

const CONFIGS = ['stock', 'ours'] as const;
type Config = (typeof CONFIGS)[number];

interface Row {
  calls: number;
  dispatches: number;
  gpuMs: number;
}

interface StepProfile {
  /** Per TF.js kernel (custom-gradient scopes excluded: they re-time their nested kernels). */
  readonly kernels: Map<string, Row>;
  /** Per WGSL program. */
  readonly programs: Map<string, Row>;
  readonly kernelCount: number;
  readonly dispatches: number;
  readonly gpuMs: number;
}

function apply(config: Config): void {
  if (config === 'stock') restoreStockWebGpuKernels();
  else registerWebGpuKernels();
}

/** "Name: 0.12, Other: 0.5" (tfjs-webgpu's extraInfo) → [[name, ms], …]. */
function programsOf(extraInfo: unknown): Array<[string, number]> {
  if (typeof extraInfo !== 'string' || extraInfo === '') return [];
  return extraInfo.split(', ').map((entry) => {
    const at = entry.lastIndexOf(': ');
    return [entry.slice(0, at), Number(entry.slice(at + 2))];
  });
}

function add(map: Map<string, Row>, name: string, calls: number, dispatches: number, gpuMs: number): void {
  const row = map.get(name) ?? { calls: 0, dispatches: 0, gpuMs: 0 };
  row.calls += calls;
  row.dispatches += dispatches;
  row.gpuMs += gpuMs;
  map.set(name, row);
}

async function profileStep(run: () => Promise<void>): Promise<StepProfile> {
  const info = await tf.profile(run);
  const kernels = new Map<string, Row>();
  const programs = new Map<string, Row>();
  for (const k of info.kernels) {
    // Scopes (customGrad forwards, ops like logSoftmax__op) have no kernel of their own.
    if (tf.getKernel(k.name, 'webgpu') === undefined) continue;
    const progs = programsOf(k.extraInfo);
    add(kernels, k.name, 1, progs.length, typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0);
    for (const [name, ms] of progs) add(programs, name, 1, 1, ms);
  }
  const rows = [...kernels.values()];
  return { kernels, programs, kernelCount: info.kernels.length, dispatches: rows.reduce((s, r) => s + r.dispatches, 0), gpuMs: rows.reduce((s, r) => s + r.gpuMs, 0) };
}

function table(title: string, by: Record<Config, Map<string, Row>>, limit: number): string {
  const names = new Set<string>();
  for (const c of CONFIGS) for (const n of by[c].keys()) names.add(n);
  const total = (c: Config) => [...by[c].values()].reduce((s, r) => s + r.gpuMs, 0);
  const ordered = [...names].sort((a, b) => Math.max(...CONFIGS.map((c) => by[c].get(b)?.gpuMs ?? 0)) - Math.max(...CONFIGS.map((c) => by[c].get(a)?.gpuMs ?? 0)));
  const cell = (c: Config, n: string) => {
    const r = by[c].get(n);
    return r === undefined ? '– | – | –' : `${r.calls} | ${r.dispatches} | ${r.gpuMs.toFixed(1)}`;
  };
  const lines = [`| ${title} | stock calls | dispatches | GPU ms | ours calls | dispatches | GPU ms | share (ours) |`, '|---|---:|---:|---:|---:|---:|---:|---:|'];
  for (const n of ordered.slice(0, limit)) {
    const share = by.ours.get(n) === undefined ? '' : `${((100 * by.ours.get(n)!.gpuMs) / total('ours')).toFixed(1)}%`;
    lines.push(`| ${n} | ${cell('stock', n)} | ${cell('ours', n)} | ${share} |`);
  }
  if (ordered.length > limit) lines.push(`| _${ordered.length - limit} more_ | | | | | | | |`);
  return lines.join('\n');
}

/** Profile webgpu training steps; see the module comment. */
export async function profileWebGpuStep(): Promise<void> {
  const model = flag('model', 'resnet20') as ModelName;
  if (!(MODEL_NAMES as readonly string[]).includes(model)) throw new Error(`--model must be one of ${MODEL_NAMES.join(', ')}, got ${model}`);
  const batch = positiveInt('batch', 8);
  const rounds = positiveInt('rounds', 2);
  const dx = flag('dx', 'gemm');
  if (dx !== 'gemm' && dx !== 'stock') throw new Error(`--dx must be gemm or stock, got ${dx}`);
  const { adapter } = await selectBackend('webgpu', silentLogger);
  setInputGradAlgorithm(dx);
  const replica = new Replica(createModel(model, { seed: 1 }), { momentum: 0.9, weightDecay: 5e-4, nesterov: false });
  const rng = new Rng(3);
  const x = Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.nextGaussian());
  const labels = Int32Array.from({ length: batch }, () => rng.nextInt(10));
  const loss = parseLossOptions('el');
  /** Resolves with the host time spent recording the step: Replica.step returns its promise only after every dispatch of the step is encoded. */
  const step = async (): Promise<number> => {
    const t0 = performance.now();
    const pending = replica.step({ x, labels, loss, epoch: 1, lr: 0.01, splitThreshold: null });
    const recorded = performance.now() - t0;
    await pending;
    await replica.settle();
    return recorded;
  };
  const best = {} as Record<Config, StepProfile>;
  const wall: Record<Config, number[]> = { stock: [], ours: [] };
  const recording: Record<Config, number[]> = { stock: [], ours: [] };
  for (const c of CONFIGS) {
    apply(c);
    await step(); // compile pipelines, fill buffer pools
  }
  for (let round = 0; round < rounds; round++) {
    for (const c of CONFIGS) {
      apply(c);
      const t0 = performance.now();
      recording[c].push(await step());
      wall[c].push(performance.now() - t0);
      const p = await profileStep(async () => {
        await step();
      });
      if (best[c] === undefined || p.gpuMs < best[c].gpuMs) best[c] = p;
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  registerWebGpuKernels();
  replica.dispose();
  const when = new Date().toISOString().slice(0, 10);
  const label = adapter === null ? 'unknown adapter' : adapterLabel(adapter);
  console.log(`${model}, batch ${batch}, dx ${dx}, webgpu on ${label}${adapter?.software === true ? ' — SOFTWARE Vulkan: times are a CPU emulating a GPU' : ''}, ${when}`);
  console.log(table('kernel', { stock: best.stock.kernels, ours: best.ours.kernels }, 30));
  console.log('');
  console.log(table('program (dispatch)', { stock: best.stock.programs, ours: best.ours.programs }, 30));
  const wallMin = (c: Config) => Math.min(...wall[c]);
  const recordMin = (c: Config) => Math.min(...recording[c]);
  for (const c of CONFIGS) {
    console.log(
      `${c}: ${best[c].kernelCount} TF.js kernels (tf.profile entries), ${best[c].dispatches} dispatches, ${best[c].gpuMs.toFixed(1)} ms of GPU time; ` +
        `host time to record the step ${recordMin(c).toFixed(1)} ms, step wall time ${wallMin(c).toFixed(0)} ms (best of ${rounds}, unprofiled)`,
    );
  }
  const summary = (c: Config) => ({
    kernelsPerStep: best[c].kernelCount,
    dispatchesPerStep: best[c].dispatches,
    gpuMs: best[c].gpuMs,
    stepWallMs: wallMin(c),
    hostRecordMs: recordMin(c),
    kernels: Object.fromEntries(best[c].kernels),
    programs: Object.fromEntries(best[c].programs),
  });
  console.log(JSON.stringify({ profile: 'train-step', backend: 'webgpu', model, batch, rounds, dx, date: when, adapter, stock: summary('stock'), ours: summary('ours') }));
}
