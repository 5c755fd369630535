/**
 * The index bookkeeping behind the gradient kernels, checked without running any kernel:
 * phase plans must tile dx exactly, and the GEMM grids must be large enough for every tap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backend_util } from '@tensorflow/tfjs-core';
import { planPhaseAxis } from './input-grad-phases.js';
import { planGemmFilterGrad } from './filter-grad-gemm.js';

test('phase plan of a 3×3 stride-2 "same" conv on 32 rows (hand-computed)', () => {
  // total pad = (16−1)·2 + 3 − 32 = 1 → top 0. Even rows use taps 0 and 2, odd rows tap 1.
  assert.deepEqual(planPhaseAxis(32, 16, 3, 2, 0), [
    { phase: 0, taps: 2, first: 0, count: 16, padBefore: 1, padAfter: 0 },
    { phase: 1, taps: 1, first: 0, count: 16, padBefore: 0, padAfter: 0 },
  ]);
});

test('phases tile every dx row exactly once, for many geometries', () => {
  for (let inSize = 1; inSize <= 12; inSize++) {
    for (let kernel = 1; kernel <= 5; kernel++) {
      for (let stride = 1; stride <= 3; stride++) {
        for (let pad = 0; pad <= kernel + 1; pad++) {
          const outSize = Math.floor((inSize + 2 * pad - kernel) / stride) + 1;
          if (outSize < 1) continue;
          const hits = new Array<number>(inSize).fill(0);
          for (const axis of planPhaseAxis(inSize, outSize, kernel, stride, pad)) {
            for (let k = 0; k < axis.count; k++) {
              const row = stride * (axis.first + k) + axis.phase - pad;
              assert.ok(row >= 0 && row < inSize, `row ${row} out of range (in ${inSize}, k ${kernel}, s ${stride}, pad ${pad})`);
              hits[row] = (hits[row] as number) + 1;
            }
          }
          assert.ok(
            hits.every((h) => h === 1),
            `rows not tiled exactly once: ${hits.join(',')} (in ${inSize}, k ${kernel}, s ${stride}, pad ${pad})`,
          );
        }
      }
    }
  }
});

test('GEMM phase grids cover every tap shift and end with a zero tail', () => {
  const info = (h: number, k: number, s: number, pad: 'same' | 'valid'): backend_util.Conv2DInfo =>
    backend_util.computeConv2DInfo([2, h, h, 3], [k, k, 3, 4], s, 1, pad);
  const sameS1 = planGemmFilterGrad(info(32, 3, 1, 'same'));
  assert.deepEqual(
    { grid: [sameS1.gridHeight, sameS1.gridWidth], phases: [sameS1.phasesH, sameS1.phasesW], slack: sameS1.slack },
    { grid: [34, 34], phases: [1, 1], slack: 2 * 34 + 2 },
  );
  const projection = planGemmFilterGrad(info(32, 1, 2, 'valid'));
  assert.deepEqual(
    { grid: [projection.gridHeight, projection.gridWidth], phases: [projection.phasesH, projection.phasesW], slack: projection.slack },
    { grid: [16, 16], phases: [1, 1], slack: 0 },
    '1×1 stride 2: only phase (0, 0), grid = output, no shifts',
  );
  for (const [h, k, s] of [
    [9, 3, 2],
    [11, 5, 3],
    [7, 2, 2],
    [8, 5, 1],
  ] as const) {
    const ci = info(h, k, s, 'same');
    const plan = planGemmFilterGrad(ci);
    // Largest shift of any tap must keep the last real output position inside the grid.
    const maxShift = Math.floor((k - 1) / s);
    assert.ok(ci.outHeight - 1 + maxShift < plan.gridHeight, `grid too small for h ${h} k ${k} s ${s}`);
    assert.equal(plan.slack, maxShift * plan.gridWidth + maxShift);
  }
});
