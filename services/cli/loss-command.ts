/**
 * `encourage loss`: evaluate the encouraging loss and its logit gradient on JSON cases from
 * stdin, through the same `lossWithLogitGrad` the trainer uses, so users can compare our
 * numbers with the authors' PyTorch `el.py` case by case.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../core/errors.js';
import { createLogger } from '../core/logging.js';
import { lossWithLogitGrad, parseLossOptions, type LossOptions } from '../core/loss/index.js';
import { parseBackendRequest, selectBackend } from '../worker/backend/select-backend.js';
import { prettyLogs, readStdin, printJsonLine } from './io.js';

interface LossCase {
  readonly logits: number[][];
  readonly labels: number[];
  readonly epoch: number;
  readonly options: LossOptions;
}

export interface LossResult {
  readonly loss: number;
  readonly base: number;
  readonly bonus: number;
  readonly gradLogits: number[][];
}

/** Register `encourage loss` on the program. */
export function registerLossCommand(program: Command): void {
  program
    .command('loss')
    .description('Read {logits, labels, epoch?, loss} (or an array of them) as JSON on stdin; print loss, base, bonus and dL/dlogits (training mode)')
    .option('--backend <name>', 'auto|tensorflow|webgpu|wasm|cpu', 'auto')
    .addHelpText(
      'after',
      `
Example:
  echo '{"logits": [[2, 0.5, -1]], "labels": [0], "loss": {"preset": "el"}}' | encourage loss

Each case: logits number[][] (batch × classes), labels integer[] (one per row), epoch (default 1,
for schedules and deferStart), loss: a preset name or options object (see docs/loss.md).`,
    )
    .action(async (flags: { backend: string }) => {
      const request = parseBackendRequest(flags.backend);
      const text = await readStdin();
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (err) {
        throw new InputError(`not valid JSON (${(err as Error).message})`, 'stdin', undefined, { cause: err });
      }
      const cases = Array.isArray(doc) ? doc.map((c, i) => parseCase(c, `[${i}]`)) : [parseCase(doc, '')];
      const logger = createLogger({ level: 'warn', pretty: prettyLogs() });
      await selectBackend(request, logger);
      const results: LossResult[] = [];
      for (const c of cases) results.push(await evaluateCase(c));
      printJsonLine(Array.isArray(doc) ? results : results[0]);
    });
}

/** Compute one case in training mode on the current backend (read asynchronously: works on webgpu too). */
export async function evaluateCase(c: LossCase): Promise<LossResult> {
  const [parts, gradLogits] = tf.tidy(() => {
    const r = lossWithLogitGrad(tf.tensor2d(c.logits), tf.tensor1d(c.labels, 'int32'), c.options, { epoch: c.epoch, training: true });
    return [tf.stack([r.loss, r.base, r.bonus]), r.gradLogits] as const;
  });
  try {
    const [values, grads] = await Promise.all([parts.data(), gradLogits.array()]);
    return { loss: values[0]!, base: values[1]!, bonus: values[2]!, gradLogits: grads };
  } finally {
    tf.dispose([parts, gradLogits]);
  }
}

function parseCase(raw: unknown, prefix: string): LossCase {
  const at = (field: string) => (prefix === '' ? field : `${prefix}.${field}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InputError('a case must be an object {logits, labels, epoch?, loss}', prefix === '' ? 'stdin' : `stdin${prefix}`);
  }
  const obj = raw as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!['logits', 'labels', 'epoch', 'loss'].includes(key)) throw new InputError('unknown field (expected logits, labels, epoch, loss)', `stdin: ${at(key)}`);
  }
  const logits = obj['logits'];
  if (!Array.isArray(logits) || logits.length === 0) throw new InputError('must be a non-empty array of rows', `stdin: ${at('logits')}`);
  let numClasses = -1;
  logits.forEach((row: unknown, i) => {
    if (!Array.isArray(row) || row.length < 2) throw new InputError('must be an array of at least 2 numbers', `stdin: ${at(`logits[${i}]`)}`);
    if (numClasses === -1) numClasses = row.length;
    if (row.length !== numClasses) throw new InputError(`has ${row.length} entries, row 0 has ${numClasses}`, `stdin: ${at(`logits[${i}]`)}`);
    row.forEach((v: unknown, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError(`must be a finite number, got ${JSON.stringify(v)}`, `stdin: ${at(`logits[${i}][${j}]`)}`);
    });
  });
  const labels = obj['labels'];
  if (!Array.isArray(labels) || labels.length !== logits.length) {
    throw new InputError(`must be an array of ${logits.length} class indices (one per logits row)`, `stdin: ${at('labels')}`);
  }
  labels.forEach((v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new InputError(`must be an integer in [0, ${numClasses}), got ${JSON.stringify(v)}`, `stdin: ${at(`labels[${i}]`)}`);
    }
  });
  const epoch = obj['epoch'] ?? 1;
  if (typeof epoch !== 'number' || !Number.isFinite(epoch) || epoch < 0) throw new InputError(`must be a number ≥ 0, got ${JSON.stringify(epoch)}`, `stdin: ${at('epoch')}`);
  if (obj['loss'] === undefined) throw new InputError('is required (a preset name or an options object)', `stdin: ${at('loss')}`);
  const options = parseLossOptions(obj['loss'], at('loss'));
  return { logits: logits as number[][], labels: labels as number[], epoch, options };
}
