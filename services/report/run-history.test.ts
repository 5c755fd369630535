/**
 * One history out of an append-only log: steps redone after a rollback (elastic recovery) are
 * taken from their last record; torn lines are counted; malformed records name line and field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsRecordError } from './errors.js';
import { parseMetricsText } from './metrics-records.js';
import { buildHistory } from './run-history.js';

const stepLine = (step: number, loss: number, epoch = 1) =>
  JSON.stringify({ type: 'step', step, epoch, loss, base: loss, bonus: 0, accuracy: 0.5, lr: 0.1, binCounts: [2, 2], binMeanGradNorm: [1, 0.5], binGradMassShare: [0.8, 0.2], meanPy: 0.4, meanMargin: 0.1 });
const epochLine = (epoch: number, step: number, testAccuracy: number) =>
  JSON.stringify({ type: 'epoch', epoch, step, trainLoss: 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy, confidence: { bins: [{ lo: 0, hi: 0.5, count: 3, meanGradNorm: 1, gradMassShare: 0.9 }, { lo: 0.5, hi: 1, count: 1, meanGradNorm: 0.3, gradMassShare: 0.1 }], meanPy: 0.4 } });

test('a step recorded twice (redone after a rollback): the last record wins, in step order', () => {
  // Steps 1–4 and epoch 1 (steps 1–2), a failure, rollback to the checkpoint at step 2, steps 3–5 redone.
  const text = [stepLine(1, 2.0), stepLine(2, 1.9), epochLine(1, 2, 0.3), stepLine(3, 1.8, 2), stepLine(4, 1.7, 2), stepLine(3, 1.6, 2), stepLine(4, 1.5, 2), stepLine(5, 1.4, 3), ''].join('\n');
  const { entries, tornLines } = parseMetricsText(text, '/runs/x/metrics.jsonl');
  assert.equal(tornLines, 0);
  const h = buildHistory(entries);
  assert.deepEqual(h.steps.map((s) => [s.step, s.loss]), [[1, 2.0], [2, 1.9], [3, 1.6], [4, 1.5], [5, 1.4]]);
  assert.equal(h.redoneSteps, 2);
  assert.equal(h.redoneEpochs, 0);
  assert.equal(h.summary, null);
});

test('an epoch recorded twice keeps its last record; the last summary wins', () => {
  const text = [stepLine(1, 2), epochLine(1, 1, 0.2), epochLine(1, 1, 0.25), '{"type":"summary","step":1,"testAccuracy":0.2}', '{"type":"summary","step":1,"testAccuracy":0.25}'].join('\n');
  const h = buildHistory(parseMetricsText(text, 'm').entries);
  assert.deepEqual(h.epochs.map((e) => e.testAccuracy), [0.25]);
  assert.equal(h.redoneEpochs, 1);
  assert.equal(h.summary?.['testAccuracy'], 0.25);
  assert.equal(h.epochs[0]!.confidence?.bins[1]?.meanGradNorm, 0.3);
});

test('torn lines are counted and skipped; NaN written as null stays null', () => {
  const nanLoss = stepLine(2, 0).replace('"loss":0', '"loss":null');
  const text = [stepLine(1, 2), '{"type":"step","st', nanLoss, '{"type":"ep'].join('\n');
  const { entries, tornLines } = parseMetricsText(text, 'm');
  assert.equal(tornLines, 2);
  const h = buildHistory(entries);
  assert.deepEqual(h.steps.map((s) => s.loss), [2, null]);
});

test('malformed records fail naming the file, line, field and value', () => {
  const bad = (line: string, field: RegExp) => {
    const text = `${stepLine(1, 2)}\n${line}\n`;
    assert.throws(() => parseMetricsText(text, '/runs/x/metrics.jsonl'), (err: unknown) => {
      assert.ok(err instanceof MetricsRecordError, String(err));
      assert.equal(err.line, 2);
      assert.match(err.message, /^\/runs\/x\/metrics\.jsonl: line 2: invalid /);
      assert.match(err.message, field);
      return true;
    });
  };
  bad('{"type":"stp","step":1}', /invalid type: "stp"/);
  bad('{"type":"step","step":-1}', /invalid step: -1 \(expected a non-negative integer\)/);
  bad('{"type":"step","step":2,"epoch":1,"loss":"high","binCounts":[1],"binMeanGradNorm":[1]}', /invalid loss: "high"/);
  bad('{"type":"step","step":2,"epoch":1,"binCounts":[1,2],"binMeanGradNorm":[1]}', /invalid binMeanGradNorm: \[1\] \(expected 2 values/);
  bad('{"type":"step","step":2,"epoch":1,"binMeanGradNorm":[1]}', /invalid binCounts: undefined/);
  bad('{"type":"epoch","epoch":1,"step":2,"confidence":{"bins":[{"lo":0}]}}', /invalid confidence\.bins\[0\]/);
  bad('[1,2]', /invalid record: \[1,2\]/);
});
