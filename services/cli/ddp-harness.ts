/**
 * The equivalence tests' job: `encourage train --workers N` on cnn-nobn-sized synthetic data (192
 * images, 2 epochs, seed 3, EL), read back as its losses, epoch records, final weights and summary,
 * and the distance between two runs' weights. Shared by the float32, float16 and webgpu
 * equivalence tests, which differ only in the flags they add.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readCheckpointFile } from '../core/checkpoint/checkpoint-file.js';
import { CheckpointStore } from '../core/checkpoint/checkpoint-store.js';
import { readMetrics } from '../core/training/run-dir.js';
import { lastJsonLine, runCli } from './cli-harness.js';

export interface DdpRun {
  readonly summary: Record<string, unknown>;
  readonly losses: number[];
  readonly epochs: Record<string, unknown>[];
  /** Final weights (the last checkpoint, optimizer state left out). */
  readonly weights: Map<string, Float32Array>;
}

/** Train `model` with `workers` × `batch` under `root/name`; `extra` flags are appended. */
export async function runDdp(root: string, name: string, workers: number, batch: number, model: string, extra: readonly string[] = []): Promise<DdpRun> {
  const dir = join(root, name);
  const res = await runCli([
    'train', '--workers', String(workers), '--batch-size', String(batch), '--model', model, '--data', 'synthetic', '--synthetic-train', '192',
    '--synthetic-test', '64', '--epochs', '2', '--seed', '3', '--loss', 'el', '--lr', '0.05', '--experiment', name, '--run-dir', dir, '--log-level', 'warn',
    '--no-report', // equivalence only; the report is covered by report-command.test.ts
    ...extra,
  ]);
  assert.equal(res.code, 0, res.stderr.slice(-3000));
  const metrics = await readMetrics(join(dir, 'metrics.jsonl'));
  const store = new CheckpointStore(join(dir, 'checkpoints'));
  const ckpt = await readCheckpointFile(join(dir, 'checkpoints', CheckpointStore.fileName(Math.max(...(await store.steps())))));
  return {
    summary: lastJsonLine(res.stdout),
    losses: metrics.filter((m) => m.type === 'step').map((m) => m['loss'] as number),
    epochs: metrics.filter((m) => m.type === 'epoch'),
    weights: new Map([...ckpt.tensors].filter(([k]) => !k.startsWith('optimizer')).map(([k, t]) => [k, t.data])),
  };
}

/** Largest |a − b| over all tensors, relative to each tensor's largest |a|. */
export function maxRelDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name);
    if (y === undefined || y.length !== x.length) throw new RangeError(`tensor ${name} is missing or of another size in the second run`);
    let scale = 0;
    for (const v of x) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(scale, 1e-12));
  }
  return worst;
}
