/**
 * The device optimizer against its host reference `FlatSgd`: bit for bit on cpu and wasm, for
 * plain, decayed, Nesterov and momentum-free SGD over several steps, including state round trips.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { silentLogger } from '../../core/logging.js';
import { Rng } from '../../core/random.js';
import { selectBackend } from '../backend/select-backend.js';
import { readConcatenated, type Param } from '../models/index.js';
import { DeviceSgd } from './device-sgd.js';
import { FlatSgd, type SgdOptions } from './sgd.js';

const SHAPES = [[3, 3, 2, 4], [4], [4], [5, 3]] as const;
const DECAY = [true, false, false, true];

function gaussian(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.nextGaussian());
}

function makeParams(rng: Rng): Param[] {
  return SHAPES.map((shape, i) => ({ name: `p${i}`, variable: tf.variable(tf.tensor(gaussian(rng, shape.reduce((a, b) => a * b, 1)), [...shape])), weightDecay: DECAY[i]! }));
}

function flat(params: readonly Param[]): Promise<Float32Array> {
  return readConcatenated(params.map((p) => p.variable));
}

const OPTIONS: SgdOptions[] = [
  { momentum: 0.9, weightDecay: 5e-4, nesterov: false },
  { momentum: 0.9, weightDecay: 1e-3, nesterov: true },
  { momentum: 0, weightDecay: 5e-4, nesterov: false },
  { momentum: 0.85, weightDecay: 0, nesterov: false },
];

for (const backend of ['cpu', 'wasm'] as const) {
  test(`${backend}: DeviceSgd equals FlatSgd bit for bit over 6 steps, for every option set`, async () => {
    await selectBackend(backend, silentLogger);
    for (const [o, options] of OPTIONS.entries()) {
      const rng = new Rng(10 + o);
      const params = makeParams(rng);
      const host = await flat(params);
      const mask = new Uint8Array(host.length);
      let off = 0;
      for (const p of params) {
        if (p.weightDecay) mask.fill(1, off, off + p.variable.size);
        off += p.variable.size;
      }
      const device = new DeviceSgd(params, options);
      const reference = new FlatSgd(host.length, mask, options);
      const before = tf.memory().numTensors;
      for (let step = 0; step < 6; step++) {
        const g = gaussian(rng, host.length, 0.3);
        if (step === 2) g[3] = -0; // signed zeros travel as they do on the host
        const lr = [0.1, 0.05, 0.0173][step % 3]!;
        const grads: tf.Tensor[] = [];
        off = 0;
        for (const p of params) {
          grads.push(tf.tensor(g.slice(off, off + p.variable.size), p.variable.shape));
          off += p.variable.size;
        }
        device.step(grads, lr);
        tf.dispose(grads);
        reference.step(host, g, lr);
        assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
        assert.deepEqual(new Uint32Array((await flat(params)).buffer), new Uint32Array(host.buffer), `${JSON.stringify(options)}: params after step ${step + 1}`);
        const state = await device.state();
        assert.deepEqual(new Uint32Array(state.momentumBuffer.buffer), new Uint32Array(reference.momentumBuffer.buffer), `momentum after step ${step + 1}`);
      }
      // A restored optimizer continues exactly where the saved one was.
      const saved = await device.state();
      const twin = new DeviceSgd(params, options);
      twin.restore(saved);
      assert.deepEqual(await twin.state(), saved);
      twin.dispose();
      device.dispose();
      for (const p of params) p.variable.dispose();
    }
  });
}

test('DeviceSgd refuses mismatched gradients before touching any parameter', async () => {
  await selectBackend('cpu', silentLogger);
  const params = makeParams(new Rng(1));
  const sgd = new DeviceSgd(params, OPTIONS[0]!);
  const before = await flat(params);
  const grads: tf.Tensor[] = params.map((p) => tf.zerosLike(p.variable));
  grads[2] = tf.zeros([5]);
  assert.throws(() => sgd.step(grads, 0.1), /gradient 2 \(p2\) has shape \[5\], the parameter \[4\]/);
  assert.throws(() => sgd.step(grads.slice(0, 2), 0.1), /2 gradients for 4 parameters/);
  assert.deepEqual(await flat(params), before);
  assert.throws(() => sgd.restore({ momentumBuffer: new Float32Array(3), initialised: true }), /3 entries, expected 95/);
  tf.dispose(grads);
  sgd.dispose();
});
