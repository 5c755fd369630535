import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastJsonLine, runCli } from './cli-harness.js';

test('encourage loss: one case, closed-form CE and full-bonus gradients, on the embedded backend', async () => {
  // p = softmax([ln .5, ln .3, ln .2]) = [.5, .3, .2]; label 0.
  const logits = [[Math.log(0.5), Math.log(0.3), Math.log(0.2)]];
  const ce = await runCli(['loss'], { stdin: JSON.stringify({ logits, labels: [0], loss: 'ce' }) });
  assert.equal(ce.code, 0, ce.stderr);
  const r = lastJsonLine<{ loss: number; base: number; bonus: number; gradLogits: number[][] }>(ce.stdout);
  assert.ok(Math.abs(r.loss - -Math.log(0.5)) < 1e-5);
  assert.equal(r.bonus, 0);
  [-0.5, 0.3, 0.2].forEach((g, j) => assert.ok(Math.abs(r.gradLogits[0]![j]! - g) < 1e-5));
  const full = await runCli(['loss', '--backend', 'wasm'], { stdin: JSON.stringify({ logits, labels: [0], loss: { preset: 'el-full' } }) });
  const f = lastJsonLine<{ loss: number; gradLogits: number[][] }>(full.stdout);
  assert.ok(Math.abs(f.loss - (-Math.log(0.5) + Math.log(0.5))) < 1e-5);
  // dL/df_y = −1, dL/df_j = p_j/(1 − p_y).
  [-1, 0.6, 0.4].forEach((g, j) => assert.ok(Math.abs(f.gradLogits[0]![j]! - g) < 1e-4, `grad ${j}: ${f.gradLogits[0]![j]}`));
  // On webgpu (lavapipe here) the values are read asynchronously: dataSync would throw there.
  const gpu = await runCli(['loss', '--backend', 'webgpu'], { stdin: JSON.stringify({ logits, labels: [0], loss: { preset: 'el-full' } }) });
  if (/no GPU adapter/.test(gpu.stderr)) return; // a machine without any Vulkan driver
  assert.equal(gpu.code, 0, gpu.stderr);
  const g = lastJsonLine<{ loss: number; gradLogits: number[][] }>(gpu.stdout);
  [-1, 0.6, 0.4].forEach((want, j) => assert.ok(Math.abs(g.gradLogits[0]![j]! - want) < 1e-4, `webgpu grad ${j}: ${g.gradLogits[0]![j]}`));
});

test('encourage loss: an array of cases gives an array; epoch drives schedules', async () => {
  const logits = [[Math.log(0.6), Math.log(0.4)]];
  const loss = { preset: 'el-full', schedule: { kind: 'linear', maxEpoch: 10 } };
  const res = await runCli(['loss'], { stdin: JSON.stringify([{ logits, labels: [0], loss, epoch: 5 }, { logits, labels: [0], loss }]) });
  assert.equal(res.code, 0, res.stderr);
  const out = lastJsonLine<{ bonus: number }[]>(res.stdout);
  assert.equal(out.length, 2);
  assert.ok(Math.abs(out[0]!.bonus - 0.5 * Math.log(0.4)) < 1e-5);
  assert.ok(Math.abs(out[1]!.bonus - 0.1 * Math.log(0.4)) < 1e-5, 'epoch defaults to 1');
});

test('encourage loss: bad JSON and bad options exit 2 naming the field', async () => {
  const cases: [string, RegExp][] = [
    ['{"logits": [[1, 2]', /not valid JSON/],
    ['{"logits": [[1, 2]], "labels": [2], "loss": "ce"}', /labels\[0\].*\[0, 2\)/],
    ['{"logits": [[1, 2], [1]], "labels": [0, 1], "loss": "ce"}', /logits\[1\]/],
    ['{"logits": [[1, "x"]], "labels": [0], "loss": "ce"}', /logits\[0\]\[1\]/],
    ['[{"logits": [[1, 2]], "labels": [0], "loss": "ce"}, {"logits": [[1, 2]], "labels": [0], "loss": {"rho": -2}}]', /\[1\]\.loss\.rho/],
    ['{"logits": [[1, 2]], "labels": [0], "loss": {"preset": "el", "logend": 0.5}}', /loss\.logend/],
    ['{"logits": [[1, 2]], "labels": [0]}', /loss.*required/],
  ];
  for (const [stdin, pattern] of cases) {
    const res = await runCli(['loss'], { stdin });
    assert.equal(res.code, 2, `exit code for ${stdin}: ${res.stderr}`);
    assert.match(res.stderr, pattern);
    assert.equal(res.stdout, '');
  }
});

test('every subcommand has --help', async () => {
  for (const args of [['--help'], ['loss', '--help'], ['train', '--help'], ['coordinator', '--help'], ['worker', '--help'], ['data', '--help'], ['data', 'synth', '--help'], ['data', 'download', '--help'], ['report', '--help'], ['operator', '--help']]) {
    const res = await runCli(args);
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, /Usage: encourage/);
  }
});
