import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointStore } from './checkpoint-store.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint-file.js';

function sample(step: number, model = 'cnn-small'): Checkpoint<{ step: number; model: string }> {
  return {
    meta: { step, model },
    tensors: new Map([
      ['w', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, step]) }],
      ['b', { shape: [3], data: Float32Array.from([-1, 0.5, Math.PI]) }],
    ]),
  };
}

test('encode/decode round-trips bit for bit', () => {
  const ck = sample(7);
  const back = decodeCheckpoint<{ step: number }>(encodeCheckpoint(ck), 'mem');
  assert.equal(back.meta.step, 7);
  assert.deepEqual(back.tensors.get('w')!.data, ck.tensors.get('w')!.data);
  assert.deepEqual(back.tensors.get('b')!.shape, [3]);
});

test('corruption and truncation are refused with the file named', () => {
  const bytes = encodeCheckpoint(sample(1));
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 3), 'x.ckpt'), /x\.ckpt.*truncated/);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 1]! ^= 0xff;
  assert.throws(() => decodeCheckpoint(flipped, 'y.ckpt'), /y\.ckpt.*checksum/);
  assert.throws(() => decodeCheckpoint(Buffer.from('hello world, not a checkpoint'), 'z.ckpt'), /z\.ckpt.*magic/);
});

test('store keeps the newest N, writes no temp files, and falls back past bad checkpoints', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ckpt-'));
  const store = new CheckpointStore(dir, 2);
  for (const step of [10, 20, 30]) await store.save(step, sample(step));
  assert.deepEqual(await store.steps(), [20, 30]);
  assert.deepEqual((await readdir(dir)).sort(), ['ckpt-0000000020.ckpt', 'ckpt-0000000030.ckpt']);
  // Truncate the newest: loading falls back to step 20, and the older file is untouched.
  const newest = join(dir, CheckpointStore.fileName(30));
  await truncate(newest, 50);
  const before = await readFile(join(dir, CheckpointStore.fileName(20)));
  const got = await store.loadLatest<{ step: number }>();
  assert.equal(got?.step, 20);
  assert.deepEqual(await readFile(join(dir, CheckpointStore.fileName(20))), before);
  // A checkpoint of another model is refused by validation, falling back further (here: none left).
  await writeFile(newest, encodeCheckpoint(sample(30, 'resnet20')));
  const validated = await store.loadLatest<{ model: string }>((c) => {
    if (c.meta.model !== 'cnn-small') throw new Error(`checkpoint is for model ${c.meta.model}`);
  });
  assert.equal(validated?.step, 20);
  assert.equal(await new CheckpointStore(join(dir, 'missing')).loadLatest(), null);
});
