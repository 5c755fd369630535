/**
 * Times the convolution gradients (dx + dW) for ResNet-20 CIFAR shapes on:
 *   - wasm with our kernels (default per-shape algorithm choice),
 *   - wasm with the literal zero-dilation recipe (dilated-dy correlation for dx, dilated
 *     convolution for dW) — the "naive kernel composition",
 *   - wasm with the stock Conv2DBackpropInput and dW from tf ops (per-tap strided slice +
 *     matMul(transposeA)) — what one writes without custom kernels,
 *   - the pure-JS cpu backend (reference).
 *
 * Usage: npm run -s build && node dist/scripts/bench-kernels.js [--reps 5] [--cpu-reps 2] [--no-cpu]
 * Prints a Markdown table, then (last stdout line) one JSON object with all timings.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createLogger } from '../services/core/logging.js';
import { setFilterGradStrategy } from '../services/worker/backend/conv2d-backprop-filter.js';
import { setInputGradStrategy } from '../services/worker/backend/conv2d-backprop-input.js';
import { registerFastWasmKernels } from '../services/worker/backend/register-wasm-kernels.js';

/** Padding as the models pass it: symmetric k/2 (PyTorch `padding=1` for 3×3, 0 for 1×1). */
function padOf(shape: Shape): number {
  return Math.floor(shape.kernel / 2);
}

interface Shape {
  name: string;
  /** How many convolutions of this shape ResNet-20 has. */
  count: number;
  x: [number, number, number, number];
  kernel: number;
  outChannels: number;
  stride: number;
}

const BATCH = 64;
const shapes: Shape[] = [
  { name: 'stem 3×3 3→16', count: 1, x: [BATCH, 32, 32, 3], kernel: 3, outChannels: 16, stride: 1 },
  { name: 'stage1 3×3 16→16', count: 6, x: [BATCH, 32, 32, 16], kernel: 3, outChannels: 16, stride: 1 },
  { name: 'stage2 3×3 32→32', count: 5, x: [BATCH, 16, 16, 32], kernel: 3, outChannels: 32, stride: 1 },
  { name: 'stage3 3×3 64→64', count: 5, x: [BATCH, 8, 8, 64], kernel: 3, outChannels: 64, stride: 1 },
  { name: 'down 3×3/2 16→32', count: 1, x: [BATCH, 32, 32, 16], kernel: 3, outChannels: 32, stride: 2 },
  { name: 'down 3×3/2 32→64', count: 1, x: [BATCH, 16, 16, 32], kernel: 3, outChannels: 64, stride: 2 },
  { name: 'proj 1×1/2 16→32', count: 1, x: [BATCH, 32, 32, 16], kernel: 1, outChannels: 32, stride: 2 },
  { name: 'proj 1×1/2 32→64', count: 1, x: [BATCH, 16, 16, 32], kernel: 1, outChannels: 64, stride: 2 },
];

function parseArgs(argv: string[]): { reps: number; cpuReps: number; cpu: boolean } {
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    const raw = i >= 0 ? argv[i + 1] : undefined;
    const parsed = raw === undefined ? NaN : Number.parseInt(raw, 10);
    return Number.isFinite(parsed) && parsed > 0 ? parsed : fallback;
  };
  return { reps: value('--reps', 7), cpuReps: value('--cpu-reps', 2), cpu: !argv.includes('--no-cpu') };
}

/**
 * Wall time (ms) of `reps` runs after one warm-up; every run's tensors are disposed. Reports
 * the best run — the benchmark machine is shared, and interference only ever adds — and the
 * median.
 */
function timeMs(reps: number, run: () => tf.Tensor[]): { best: number; median: number } {
  tf.dispose(run());
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const start = performance.now();
    // wasm and cpu kernels run synchronously, so the clock covers the work. No dataSync():
    // copying a multi-MB result off the wasm heap costs more than some of the kernels.
    const out = run();
    samples.push(performance.now() - start);
    tf.dispose(out);
  }
  samples.sort((a, b) => a - b);
  return { best: samples[0] ?? NaN, median: samples[Math.floor(samples.length / 2)] ?? NaN };
}

function dxKernel(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, stride: number): tf.Tensor {
  const attrs = { strides: stride, pad: Math.floor(filter.shape[0] / 2), dataFormat: 'NHWC', inputShape: x.shape };
  return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

function dwKernel(x: tf.Tensor4D, filter: tf.Tensor4D, dy: tf.Tensor4D, stride: number): tf.Tensor {
  const attrs = { strides: stride, pad: Math.floor(filter.shape[0] / 2), dataFormat: 'NHWC', filterShape: filter.shape };
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** dW with ordinary tf ops: one strided slice and one transposed matMul per filter tap. */
function dwByOps(x: tf.Tensor4D, dy: tf.Tensor4D, kernel: number, stride: number): tf.Tensor {
  return tf.tidy(() => {
    const [n, , , cin] = x.shape;
    const [, ho, wo, cout] = dy.shape;
    const p = Math.floor(kernel / 2);
    const xPad = tf.pad(x, [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ]);
    const dy2 = tf.reshape(dy, [n * ho * wo, cout]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kernel; i++) {
      for (let j = 0; j < kernel; j++) {
        const window = tf.stridedSlice(xPad, [0, i, j, 0], [n, i + (ho - 1) * stride + 1, j + (wo - 1) * stride + 1, cin], [1, stride, stride, 1]);
        taps.push(tf.matMul(tf.reshape(window, [n * ho * wo, cin]), dy2, true, false));
      }
    }
    return tf.reshape(tf.stack(taps), [kernel, kernel, cin, cout]);
  });
}

async function main(): Promise<void> {
  const logger = createLogger({ name: 'bench-kernels' });
  const { reps, cpuReps, cpu } = parseArgs(process.argv.slice(2));
  registerFastWasmKernels();
  await tf.setBackend('cpu'); // inputs are generated once on cpu, then copied per backend
  const rows: Array<Record<string, number | string>> = [];
  for (const shape of shapes) {
    const [n, h, w, cin] = shape.x;
    const seed = 7;
    const xValues = tf.tidy(() => tf.randomNormal(shape.x, 0, 1, 'float32', seed).dataSync());
    const fShape: [number, number, number, number] = [shape.kernel, shape.kernel, cin, shape.outChannels];
    const fValues = tf.tidy(() => tf.randomNormal(fShape, 0, 0.1, 'float32', seed + 1).dataSync());
    const row: Record<string, number | string> = { shape: shape.name, count: shape.count };
    const measure = (key: string, times: number, run: () => tf.Tensor[]): number => {
      const { best, median } = timeMs(times, run);
      row[key] = best;
      row[`${key}Median`] = median;
      return best;
    };
    const backends = cpu ? ['wasm', 'cpu'] : ['wasm'];
    for (const backend of backends) {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xValues, [n, h, w, cin]);
      const filter = tf.tensor4d(fValues, fShape);
      const stride = shape.stride;
      const pad = padOf(shape);
      const dy = tf.conv2d(x, filter, stride, pad);
      if (backend === 'wasm') {
        measure('forwardMs', reps, () => [tf.conv2d(x, filter, stride, pad)]);
        const dx = measure('dxMs', reps, () => [dxKernel(x, filter, dy, stride)]);
        const dw = measure('dwMs', reps, () => [dwKernel(x, filter, dy, stride)]);
        setFilterGradStrategy('gemm');
        measure('dwGemmMs', reps, () => [dwKernel(x, filter, dy, stride)]);
        setFilterGradStrategy('conv');
        const dwConv = measure('dwConvMs', reps, () => [dwKernel(x, filter, dy, stride)]);
        setFilterGradStrategy('auto');
        setInputGradStrategy('dilation');
        const dxDilation = measure('dxDilationMs', reps, () => [dxKernel(x, filter, dy, stride)]);
        setInputGradStrategy('auto');
        row.oursMs = dx + dw;
        row.recipeMs = dxDilation + dwConv;
        measure('opsMs', Math.min(reps, 3), () => [tf.conv2dTranspose(dy, filter, shape.x, stride, pad), dwByOps(x, dy, shape.kernel, stride)]);
      } else {
        measure('cpuMs', cpuReps, () => [dxKernel(x, filter, dy, stride), dwKernel(x, filter, dy, stride)]);
      }
      tf.dispose([x, filter, dy]);
    }
    logger.info(row, 'measured');
    rows.push(row);
  }
  const fmt = (v: number | string | undefined): string => (typeof v === 'number' ? v.toFixed(1) : (v ?? '–'));
  const ratio = (a: number | string | undefined, b: number | string | undefined): string =>
    typeof a === 'number' && typeof b === 'number' ? `${(a / b).toFixed(1)}×` : '–';
  const lines = [
    '| shape (batch 64) | × in ResNet-20 | fwd conv | ours dx | ours dW | **ours dx+dW** | zero-dilation recipe | stock dx + tf-ops dW | cpu backend | vs recipe | vs tf-ops | vs cpu |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.shape} | ${r.count} | ${fmt(r.forwardMs)} | ${fmt(r.dxMs)} | ${fmt(r.dwMs)} | **${fmt(r.oursMs)}** | ${fmt(r.recipeMs)} | ${fmt(r.opsMs)} | ${fmt(r.cpuMs)} | ` +
        `${ratio(r.recipeMs, r.oursMs)} | ${ratio(r.opsMs, r.oursMs)} | ${ratio(r.cpuMs, r.oursMs)} |`,
    );
  }
  // Weighted by how often each shape occurs: the convolution-gradient time of one ResNet-20
  // step (the stem's dx, which training does not need, is included).
  const total = (key: string): number =>
    rows.reduce((sum, r) => sum + (typeof r[key] === 'number' ? (r[key] as number) * (r.count as number) : 0), 0);
  const totals = { forwardMs: total('forwardMs'), oursMs: total('oursMs'), recipeMs: total('recipeMs'), opsMs: total('opsMs'), cpuMs: total('cpuMs') };
  lines.push(
    `| **ResNet-20 step (Σ count × time)** | 21 | ${fmt(totals.forwardMs)} | | | **${fmt(totals.oursMs)}** | ${fmt(totals.recipeMs)} | ${fmt(totals.opsMs)} | ` +
      `${cpu ? fmt(totals.cpuMs) : '–'} | ${ratio(totals.recipeMs, totals.oursMs)} | ${ratio(totals.opsMs, totals.oursMs)} | ${cpu ? ratio(totals.cpuMs, totals.oursMs) : '–'} |`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'conv-gradients',
      unit: 'ms, best of reps (…Median: median)',
      reps,
      rows,
      totals,
    })}\n`,
  );
}

await main();
