import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { CIFAR10_CLASS_NAMES, CIFAR10_IMAGE_BYTES, CIFAR10_REQUIRED_FILES, type Cifar10Data } from './cifar10-format.js';
import { loadCifar10 } from './cifar10-loader.js';
import { generateSyntheticCifar10, generateSyntheticSplit, writeSyntheticCifar10 } from './synthetic.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cifar-synth-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('same seed ⇒ identical bytes on disk; another seed differs; files load back', async () => {
  await withDir(async (dir) => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const c = path.join(dir, 'c');
    const result = await writeSyntheticCifar10({ outDir: a, train: 37, test: 11, seed: 5 });
    assert.deepEqual(result, { outDir: a, train: 37, test: 11, seed: 5, files: CIFAR10_REQUIRED_FILES.map((f) => path.resolve(a, f)) });
    await writeSyntheticCifar10({ outDir: b, train: 37, test: 11, seed: 5 });
    await writeSyntheticCifar10({ outDir: c, train: 37, test: 11, seed: 6 });
    assert.deepEqual((await readdir(a)).sort(), [...CIFAR10_REQUIRED_FILES].sort());
    for (const name of CIFAR10_REQUIRED_FILES) assert.deepEqual(await readFile(path.join(a, name)), await readFile(path.join(b, name)), name);
    assert.notDeepEqual(await readFile(path.join(a, 'data_batch_1.bin')), await readFile(path.join(c, 'data_batch_1.bin')));
    assert.equal(await readFile(path.join(a, 'batches.meta.txt'), 'utf8'), `${CIFAR10_CLASS_NAMES.join('\n')}\n`);

    // On disk it is exactly the in-memory variant.
    const memory = generateSyntheticCifar10({ train: 37, test: 11, seed: 5 });
    const train = await loadCifar10(a, { split: 'train' });
    const testSplit = await loadCifar10(a, { split: 'test' });
    assert.deepEqual(train.images, memory.train.images);
    assert.deepEqual(train.labels, memory.train.labels);
    assert.deepEqual(testSplit.images, memory.test.images);
    assert.equal(testSplit.count, 11);
  });
});

test('labels are balanced; splits are independent of each other’s size', () => {
  const { train, test: testSplit } = generateSyntheticCifar10({ train: 205, test: 30, seed: 1 });
  const counts = new Array<number>(10).fill(0);
  for (const l of train.labels) counts[l]!++;
  assert.deepEqual(counts, [21, 21, 21, 21, 21, 20, 20, 20, 20, 20]);
  assert.deepEqual(generateSyntheticCifar10({ train: 205, test: 99, seed: 1 }).train.images, train.images);
  assert.deepEqual(generateSyntheticCifar10({ train: 7, test: 30, seed: 1 }).test.images, testSplit.images);
  assert.equal(train.images.length, 205 * CIFAR10_IMAGE_BYTES);
});

/** Nearest-class-mean on raw pixels: a cheap learnability probe that needs no TF.js. */
function nearestMeanAccuracy(train: Cifar10Data, evalSet: Cifar10Data): { accuracy: number; confusion: number[][] } {
  const D = CIFAR10_IMAGE_BYTES;
  const means = Array.from({ length: 10 }, () => new Float64Array(D));
  const n = new Array<number>(10).fill(0);
  for (let i = 0; i < train.count; i++) {
    const l = train.labels[i]!;
    n[l]!++;
    const m = means[l]!;
    for (let d = 0; d < D; d++) m[d]! += train.images[i * D + d]!;
  }
  means.forEach((m, l) => m.forEach((v, d) => (m[d] = v / n[l]!)));
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  let correct = 0;
  for (let i = 0; i < evalSet.count; i++) {
    let best = 0;
    let bestDist = Number.POSITIVE_INFINITY;
    for (let l = 0; l < 10; l++) {
      const m = means[l]!;
      let dist = 0;
      for (let d = 0; d < D; d++) {
        const e = evalSet.images[i * D + d]! - m[d]!;
        dist += e * e;
      }
      if (dist < bestDist) [best, bestDist] = [l, dist];
    }
    confusion[evalSet.labels[i]!]![best]!++;
    if (best === evalSet.labels[i]) correct++;
  }
  return { accuracy: correct / evalSet.count, confusion };
}

test('learnable but not trivial: nearest-class-mean is far above chance and far below 100%', () => {
  const { train, test: evalSet } = generateSyntheticCifar10({ train: 2000, test: 500, seed: 3 });
  const { accuracy } = nearestMeanAccuracy(train, evalSet);
  // Chance is 10%; measured ≈ 37% for this seed. Shape/position jitter keeps a linear
  // template matcher far from perfect, so there is headroom for a CNN.
  assert.ok(accuracy > 0.25, `accuracy ${accuracy} too close to chance`);
  assert.ok(accuracy < 0.7, `accuracy ${accuracy} suspiciously high`);
});

test('confusable pairs are closer to each other than to other classes (mean-image distance)', () => {
  const { train } = generateSyntheticCifar10({ train: 3000, test: 0, seed: 4 });
  const D = CIFAR10_IMAGE_BYTES;
  const means = Array.from({ length: 10 }, () => new Float64Array(D));
  const n = new Array<number>(10).fill(0);
  for (let i = 0; i < train.count; i++) {
    const l = train.labels[i]!;
    n[l]!++;
    for (let d = 0; d < D; d++) means[l]![d]! += train.images[i * D + d]!;
  }
  const dist = (a: number, b: number): number => {
    let s = 0;
    for (let d = 0; d < D; d++) s += (means[a]![d]! / n[a]! - means[b]![d]! / n[b]!) ** 2;
    return Math.sqrt(s);
  };
  const [cat, dog, deer, horse, automobile, truck] = [3, 5, 4, 7, 1, 9];
  for (const [a, b] of [[cat, dog], [deer, horse], [automobile, truck]] as const) {
    const pair = dist(a, b);
    for (let other = 0; other < 10; other++) {
      if (other === a || other === b) continue;
      assert.ok(pair < dist(a, other), `${CIFAR10_CLASS_NAMES[a]}–${CIFAR10_CLASS_NAMES[b]} ${pair.toFixed(0)} vs ${CIFAR10_CLASS_NAMES[other]} ${dist(a, other).toFixed(0)}`);
    }
  }
});

test('bad counts are ConfigErrors naming the option', async () => {
  await assert.rejects(writeSyntheticCifar10({ outDir: path.join(tmpdir(), 'never-written'), train: 4, test: 1, seed: 0 }), (e: unknown) => e instanceof ConfigError && e.key === 'train');
  await assert.rejects(writeSyntheticCifar10({ outDir: path.join(tmpdir(), 'never-written'), train: 5, test: 0, seed: 0 }), (e: unknown) => e instanceof ConfigError && e.key === 'test');
  assert.throws(() => generateSyntheticSplit(1.5, 0), (e: unknown) => e instanceof ConfigError && e.key === 'count');
  assert.throws(() => generateSyntheticSplit(3, Number.NaN), (e: unknown) => e instanceof ConfigError && e.key === 'seed');
});
